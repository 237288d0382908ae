package explain

import (
	"bufio"
	"fmt"
	"io"
	"slices"
	"strings"
)

// WriteDot renders the graph for Graphviz (dot -Tsvg): clients, security groups, the load
// balancer, listeners, target groups and targets, left to right. Rules are edges labelled
// with the rule; over-exposed ones are red, foreign ones dashed.
func WriteDot(w io.Writer, g Graph) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format+"\n", args...) }
	p("digraph explain {")
	p("  rankdir=LR;")
	p("  node [fontname=Helvetica, fontsize=10];")
	p("  edge [fontname=Helvetica, fontsize=9];")
	p("  label=%s; labelloc=t;", q(g.Stack))

	clients := map[string]bool{}
	client := func(peer string) string {
		id := "client:" + peer
		if !clients[peer] {
			clients[peer] = true
			p("  %s [shape=ellipse, label=%s];", q(id), q(peer))
		}
		return id
	}
	for _, sg := range g.SecurityGroups {
		label := sg.ID
		if sg.Name != "" {
			label += "\n" + sg.Name
		}
		label += "\n(" + strings.Join(sg.Roles, ", ") + ")"
		p("  %s [shape=box, label=%s];", q("sg:"+sg.ID), q(label))
	}
	if lb := g.LoadBalancer; lb != nil {
		p("  lb [shape=box3d, label=%s];", q(lb.Name+"\n"+lb.Type+", "+lb.Scheme))
		for _, id := range lb.SecurityGroups {
			p("  %s -> lb [label=attached];", q("sg:"+id))
		}
	}
	for _, l := range g.Listeners {
		id := fmt.Sprintf("listener:%s:%d", l.Protocol, l.Port)
		p("  %s [shape=cds, label=%s];", q(id), q(fmt.Sprintf("%s:%d", l.Protocol, l.Port)))
		if g.LoadBalancer != nil {
			p("  lb -> %s;", q(id))
		}
		for _, tg := range l.TargetGroups {
			p("  %s -> %s;", q(id), q("tg:"+tg))
		}
	}
	for _, tg := range g.TargetGroups {
		p("  %s [shape=folder, label=%s];", q("tg:"+tg.Name), q(tg.Name+"\n"+tg.TargetType+", "+tg.Protocol))
		for _, t := range tg.Targets {
			tid := fmt.Sprintf("target:%s:%d", t.ID, t.Port)
			attrs := ""
			if !t.Reachable {
				attrs = ", color=red, fontcolor=red"
			}
			p("  %s [shape=component, label=%s%s];", q(tid), q(fmt.Sprintf("%s:%d", t.ID, t.Port)), attrs)
			p("  %s -> %s [style=dotted];", q("tg:"+tg.Name), q(tid))
			if t.SecurityGroup != "" {
				p("  %s -> %s [arrowhead=none, style=dotted, label=guards];", q("sg:"+t.SecurityGroup), q(tid))
			}
		}
	}
	for _, sg := range g.SecurityGroups {
		for _, r := range sg.Rules {
			if r.Relation == RelationOther {
				continue
			}
			from := client(r.Peer)
			if r.PeerKind == "sg" && slices.ContainsFunc(g.SecurityGroups, func(s SecurityGroup) bool { return s.ID == r.Peer }) {
				from = "sg:" + r.Peer
			}
			p("  %s -> %s [label=%s%s];", q(from), q("sg:"+sg.ID), q(ruleLabel(r)), edgeStyle(r))
		}
	}
	p("}")
	return bw.Flush()
}

func ruleLabel(r Rule) string {
	label := strings.TrimSuffix(r.Text, " from "+r.Peer)
	if r.Relation == RelationBypass {
		label += " (bypass)"
	}
	return label
}

func edgeStyle(r Rule) string {
	var s string
	if len(r.OverExposure) > 0 {
		s += ", color=red, fontcolor=red"
	}
	if r.Foreign {
		s += ", style=dashed"
	}
	return s
}

// q quotes s as a dot string.
func q(s string) string {
	s = strings.ReplaceAll(s, `\`, `\\`)
	s = strings.ReplaceAll(s, `"`, `\"`)
	return `"` + strings.ReplaceAll(s, "\n", `\n`) + `"`
}
