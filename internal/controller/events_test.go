package controller

import (
	"strings"
	"testing"
	"unicode/utf8"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/events"
)

// TestLongEventNoteKeepsKeyAndFix guards issue 6 case 14: a Warning Event whose note
// passes 1,024 bytes is refused by the apiserver. The note is shortened, and what is kept
// still names the key and says how to fix it.
func TestLongEventNoteKeepsKeyAndFix(t *testing.T) {
	key := "service.beta.kubernetes.io/aws-load-balancer-scheme"
	fix := "set it to internal or internet-facing, or remove it"
	tests := []struct {
		name, msg string
		keep      []string
	}{
		// Written out rather than built with annotations.Error, which quotes a bounded width
		// of a value already: the recorder must hold for any caller's message.
		{"4 KB annotation value", "annotation " + key + `="` + strings.Repeat("x", 4096) + `": must be "internal" or "internet-facing"; fix: ` + fix,
			[]string{"annotation " + key + `="xxx`, `: must be "internal" or "internet-facing"; fix: ` + fix}},
		{"multi-byte characters", "annotation " + key + `="` + strings.Repeat("é€😀", 700) + `": bad; fix: ` + fix,
			[]string{"annotation " + key, "; fix: " + fix}},
		{"60 SG IDs, last clause kept", "too many security groups: " + strings.Repeat("sg-0123456789abcdef0,", 60) + " remove some. at most 5 are allowed",
			[]string{"too many security groups: sg-", ". at most 5 are allowed"}},
		{"a fix longer than half", "key k: " + strings.Repeat("y", 300) + "; fix: " + strings.Repeat("z", 3000),
			[]string{"key k: yyy", "; fix: zzz"}},
		{"no clause at all", strings.Repeat("a", 5000), []string{"aaa"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Shorten(tt.msg, MaxEventNote)
			if len(got) > MaxEventNote {
				t.Fatalf("len = %d, want at most %d", len(got), MaxEventNote)
			}
			if len(got) < MaxEventNote-8 {
				t.Errorf("len = %d: shortened more than needed", len(got))
			}
			if !utf8.ValidString(got) {
				t.Errorf("not valid UTF-8: %q", got)
			}
			if !strings.Contains(got, ellipsis) {
				t.Errorf("no %q where the message was cut: %q", ellipsis, got)
			}
			for _, k := range tt.keep {
				if !strings.Contains(got, k) {
					t.Errorf("%q lost; got %q", k, got)
				}
			}
		})
	}
	if s := "short; fix: nothing"; Shorten(s, MaxEventNote) != s {
		t.Error("a short message was changed")
	}
	for n := 0; n < 12; n++ {
		if got := Shorten("ab€défgh; fix: ijk", n); len(got) > n || !utf8.ValidString(got) {
			t.Errorf("Shorten(…, %d) = %q", n, got)
		}
	}
}

type noteRecorder struct{ notes []string }

func (r *noteRecorder) Eventf(_, _ runtime.Object, _, _, _, note string, args ...interface{}) {
	if len(args) != 1 || note != "%s" {
		panic("the recorder must pass the shortened note as one argument")
	}
	r.notes = append(r.notes, args[0].(string))
}

var _ events.EventRecorder = (*noteRecorder)(nil)

func TestShortRecorder(t *testing.T) {
	inner := &noteRecorder{}
	r := ShortRecorder(inner)
	r.Eventf(&corev1.Service{}, nil, corev1.EventTypeWarning, "R", "A", "%s: %d", strings.Repeat("q", 4096), 7)
	r.Eventf(&corev1.Service{}, nil, corev1.EventTypeNormal, "R", "A", "100% done")
	if len(inner.notes) != 2 || len(inner.notes[0]) > MaxEventNote || !strings.HasSuffix(inner.notes[0], ": 7") {
		t.Errorf("notes = %q", inner.notes)
	}
	if inner.notes[1] != "100% done" {
		t.Errorf("a note without arguments was formatted: %q", inner.notes[1])
	}
}

// A new, different note on the same object and reason must reach the user as its own
// Event, not as a count on the first note's series; the same note still folds.
func TestEachDistinctNoteGetsItsOwnSeries(t *testing.T) {
	a1 := SeriesAction("Reconcile", `annotation k="a": bad; fix: x`)
	a2 := SeriesAction("Reconcile", `annotation k="a": bad; fix: x`)
	b := SeriesAction("Reconcile", `annotation j="b": bad; fix: y`)
	if a1 != a2 {
		t.Errorf("the same note got two actions: %q, %q", a1, a2)
	}
	if a1 == b {
		t.Errorf("two notes share the action %q and would fold into one series", a1)
	}
	if !strings.HasPrefix(a1, "Reconcile-") || len(a1) > 128 {
		t.Errorf("action %q: want the caller's action first, at most 128 characters", a1)
	}
}
