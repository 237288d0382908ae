// Package tally does arithmetic on counts kept in maps, such as AWS calls by action.
package tally

// Sub returns c minus earlier, keeping only the keys whose count changed.
func Sub[K comparable](c, earlier map[K]int) map[K]int {
	out := map[K]int{}
	for k, n := range c {
		if d := n - earlier[k]; d != 0 {
			out[k] = d
		}
	}
	for k, n := range earlier {
		if _, ok := c[k]; !ok && n != 0 {
			out[k] = -n
		}
	}
	return out
}

// Total returns the sum of the counts in c.
func Total[K comparable](c map[K]int) int {
	n := 0
	for _, v := range c {
		n += v
	}
	return n
}
