package controller

import (
	"fmt"
	"hash/fnv"
	"strings"
	"unicode/utf8"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// MaxEventNote is the longest Event note the apiserver accepts, in bytes; it refuses a
// longer one, and the user would see nothing at all.
const MaxEventNote = 1024

// ellipsis marks where a message was shortened.
const ellipsis = "…"

// ShortRecorder returns a recorder that shortens every note to MaxEventNote bytes with
// Shorten, so that no Event is lost to its length.
func ShortRecorder(r events.EventRecorder) events.EventRecorder { return shortRecorder{r} }

type shortRecorder struct{ inner events.EventRecorder }

func (r shortRecorder) Eventf(regarding, related runtime.Object, eventtype, reason, action, note string, args ...interface{}) {
	if len(args) > 0 {
		note = fmt.Sprintf(note, args...)
	}
	note = Shorten(note, MaxEventNote)
	r.inner.Eventf(regarding, related, eventtype, reason, SeriesAction(action, note), "%s", note)
}

// SeriesAction gives each distinct note its own Event series. client-go folds Events of one
// object, type, reason and action into a series that keeps the first note and only counts
// the rest, so a second, different problem (a user fixes one key and breaks another) would
// show the old message. A short hash of the note in the action keeps one series per
// message: repeats of the same note still fold, new ones are seen.
func SeriesAction(action, note string) string {
	h := fnv.New32a()
	h.Write([]byte(note))
	return fmt.Sprintf("%s-%08x", action, h.Sum32())
}

// Shorten returns s cut to at most n bytes. It keeps the start, which names the key or the
// object, and the end, which says how to fix it (the text from "; fix:", else the last
// clause), and replaces the middle with "…". It never splits a UTF-8 character.
func Shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	if n < 4*len(ellipsis) {
		// Too short to keep both ends.
		if n < len(ellipsis) {
			return cutEnd(s, n)
		}
		return cutEnd(s, n-len(ellipsis)) + ellipsis
	}
	fix := len(s)
	if i := strings.LastIndex(s, "; fix:"); i >= 0 {
		fix = i
	} else if i := strings.LastIndexAny(s, ".;"); i >= 0 && i < len(s)-1 {
		fix = i
	}
	budget := n - len(ellipsis)
	if tail := len(s) - fix; tail > budget/2 {
		// The fix alone is too long: keep its start, and as much of the message's.
		half := (n - 2*len(ellipsis)) / 2
		head := cutEnd(s[:fix], half)
		return head + ellipsis + cutEnd(s[fix:], n-2*len(ellipsis)-len(head)) + ellipsis
	}
	// The fix whole; what is left is shared by the start and the text just before the
	// fix (in an annotation error, the reason).
	head := cutEnd(s, (budget-(len(s)-fix))/2)
	return head + ellipsis + cutStart(s[len(head):], budget-len(head))
}

// cutEnd returns the longest prefix of s of at most n bytes that ends on a character
// boundary.
func cutEnd(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// cutStart returns the longest suffix of s of at most n bytes that starts on a character
// boundary.
func cutStart(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := len(s) - n
	for i < len(s) && !utf8.RuneStart(s[i]) {
		i++
	}
	return s[i:]
}
