package plan

import (
	"fmt"
	"io"
	"strings"

	"github.com/lbsg/lbsg/internal/naming"
	"github.com/lbsg/lbsg/internal/state"
)

// Write prints the plan as `lbsg plan` shows it: one line per change, then its details.
func Write(w io.Writer, p Plan) error {
	for _, n := range p.Notices {
		if _, err := fmt.Fprintf(w, "  left as is: %s\n", n); err != nil {
			return err
		}
	}
	if p.Empty() {
		_, err := fmt.Fprintln(w, "  no changes")
		return err
	}
	for _, c := range p.Changes {
		if _, err := fmt.Fprintf(w, "  %-20s %-16s %s\n", c.Op, c.Target.String(), c.Reason); err != nil {
			return err
		}
		for _, line := range details(c) {
			if _, err := fmt.Fprintf(w, "      %s\n", line); err != nil {
				return err
			}
		}
	}
	return nil
}

func details(c Change) []string {
	var out []string
	for _, r := range c.Rules {
		out = append(out, r.Key.String())
	}
	if c.SG != nil {
		out = append(out, fmt.Sprintf("name=%s description=%q", c.SG.Name, c.SG.Description))
		out = append(out, "tags: "+naming.FormatTags(c.SG.Tags, ", "))
	}
	if len(c.Tags) > 0 {
		out = append(out, "set tags: "+naming.FormatTags(c.Tags, ", "))
	}
	if len(c.Untag) > 0 {
		out = append(out, "remove tags: "+strings.Join(c.Untag, ", "))
	}
	if c.LB != nil {
		out = append(out, fmt.Sprintf("name=%s scheme=%s ip-address-type=%s subnets=%v", c.LB.Name, c.LB.Scheme, c.LB.IPAddressType, c.LB.Subnets))
	}
	if len(c.SGs) > 0 || c.Op == OpCreateLB {
		out = append(out, "security groups: "+refsString(c.SGs))
	}
	if c.PrivateLinkEnforce != "" {
		out = append(out, "enforce inbound rules on PrivateLink traffic: "+c.PrivateLinkEnforce)
	}
	if c.TG != nil {
		hc := c.TG.HealthCheck
		out = append(out, fmt.Sprintf("name=%s %s:%d target-type=%s health-check=%s", c.TG.Name, c.TG.Protocol, c.TG.Port, c.TG.TargetType, hcString(state.HealthCheck(hc))))
		if c.TG.ProtocolVersion != "" {
			out = append(out, "protocol-version="+c.TG.ProtocolVersion)
		}
		if len(c.TG.Attributes) > 0 && c.Op == OpCreateTG {
			out = append(out, "attributes (set once created): "+attrList(c.TG.Attributes))
		}
	}
	if len(c.Attributes) > 0 {
		out = append(out, "set attributes: "+attrList(c.Attributes))
	}
	if c.Listener != nil {
		l := fmt.Sprintf("%s:%d", c.Listener.Protocol, c.Listener.Port)
		if c.Listener.KeepProtocol {
			l = fmt.Sprintf("port %d (protocol, certificates and SSL policy kept)", c.Listener.Port)
		}
		switch {
		case c.Listener.KeepDefaultAction:
			l += " (default action kept)"
		case c.Listener.DefaultAction != nil:
			l += " -> " + specActionString(&RuleSpec{Action: c.Listener.DefaultAction, ForwardRefs: c.Listener.DefaultForwardRefs})
		case c.Listener.TargetGroup != (Ref{}):
			l += " -> " + c.Listener.TargetGroup.String()
		case c.Op != OpDeleteListener:
			l += " -> fixed-response 404"
		}
		if len(c.Listener.Certificates) > 0 && !c.Listener.KeepProtocol {
			l += " certificates=" + strings.Join(c.Listener.Certificates, ",")
		}
		out = append(out, l)
		if len(c.Listener.Tags) > 0 {
			out = append(out, "tags: "+naming.FormatTags(c.Listener.Tags, ", "))
		}
	}
	if c.Rule != nil && c.Op != OpDeleteRule {
		out = append(out, fmt.Sprintf("priority %d: %s -> %s", c.Rule.Priority, ruleString(c.Rule.Hosts, c.Rule.Paths)+conditionsString(c.Rule.Conditions), specActionString(c.Rule)))
		if len(c.Rule.Tags) > 0 {
			out = append(out, "tags: "+naming.FormatTags(c.Rule.Tags, ", "))
		}
	}
	for _, arn := range c.TagARNs {
		out = append(out, "on "+arn)
	}
	for _, t := range c.Targets {
		out = append(out, fmt.Sprintf("%s:%d", t.ID, t.Port))
	}
	if len(c.HeldBy) > 0 {
		out = append(out, "held by rules of "+strings.Join(c.HeldBy, ", ")+" that refer to it: AWS refuses the deletion until they are removed")
	}
	return out
}
