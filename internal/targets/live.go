package targets

// Liveness is what decides whether a Pod may still receive traffic.
type Liveness struct {
	// Phase is status.phase.
	Phase string
	// Deleting says the Pod has a deletion timestamp.
	Deleting bool
}

// Live reports whether a Pod can be a target, and so whether the IP it holds is its own: a
// Succeeded or Failed Pod keeps status.podIPs, but the IP may already belong to another
// Pod, of another namespace.
func Live(l Liveness) bool {
	return l.Phase != "Succeeded" && l.Phase != "Failed"
}
