package explain

import (
	"slices"
	"testing"

	"github.com/lbsg/lbsg/internal/state"
)

// The target groups of a weighted forward (actions.* annotations), on a rule or as the
// default action, are among those the listener forwards to.
func TestListenerTGsIncludeWeightedForwards(t *testing.T) {
	weighted := func(arns ...string) *state.RuleAction {
		a := &state.RuleAction{Type: "forward"}
		for _, arn := range arns {
			a.Forward = append(a.Forward, state.ForwardTo{TargetGroupARN: arn})
		}
		return a
	}
	l := state.Listener{DefaultAction: weighted("d1", "d2"), Rules: []state.ListenerRule{
		{TargetGroupARN: "plain"}, {Action: weighted("a", "b")}, {Action: &state.RuleAction{Type: "redirect"}}}}
	got := listenerTGs(l)
	if want := []string{"d1", "d2", "plain", "a", "b"}; !slices.Equal(got, want) {
		t.Errorf("listenerTGs = %v, want %v", got, want)
	}
}
