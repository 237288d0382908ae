package apply

import (
	"github.com/lbsg/lbsg/internal/plan"
	"github.com/lbsg/lbsg/internal/state"
)

// ruleAction is a rule's action with the ARNs of the target groups it forwards to,
// including those created earlier in this apply.
func (x *Executor) ruleAction(rs *plan.RuleSpec, res *Result) (*state.RuleAction, error) {
	out := *rs.Action
	out.Forward = nil
	for i, f := range rs.Action.Forward {
		if f.TargetGroupARN == "" && i < len(rs.ForwardRefs) {
			arn, err := x.id(rs.ForwardRefs[i], res)
			if err != nil {
				return nil, err
			}
			f.TargetGroupARN = arn
		}
		f.TargetGroup = ""
		out.Forward = append(out.Forward, f)
	}
	return &out, nil
}
