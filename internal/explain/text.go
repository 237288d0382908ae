package explain

import (
	"bufio"
	"fmt"
	"io"
	"strings"
)

// WriteText renders the graph for a reader: the paths first, one per line, then every
// security group with its rules and their marks, the listeners and the target groups.
func WriteText(w io.Writer, g Graph) error {
	bw := bufio.NewWriter(w)
	p := func(format string, args ...any) { fmt.Fprintf(bw, format+"\n", args...) }
	self := g.Object.Kind + " " + g.Object.Namespace + "/" + g.Object.Name
	if g.Stack == self || g.Stack == "" {
		p("%s", self)
	} else {
		p("%s in %s", self, g.Stack)
	}
	if len(g.Members) > 0 {
		p("  ingresses: %s", strings.Join(g.Members, ", "))
	}
	if lb := g.LoadBalancer; lb != nil {
		p("  load balancer %s (%s, %s, frontend %s)", lb.Name, lb.Type, lb.Scheme, lb.Frontend)
		if lb.DNSName != "" {
			p("    dns %s", lb.DNSName)
		}
	}
	for _, pr := range g.Problems {
		p("  invalid: %s", pr)
	}
	for _, n := range g.Notes {
		p("  note: %s", n)
	}
	writeAsked(p, g.Asked)

	p("")
	p("paths (client -> frontend SG -> listener -> target group -> target SG -> targets)")
	if len(g.Paths) == 0 {
		p("  none")
	}
	for _, path := range g.Paths {
		p("  %s%s", pathText(path), marks(path.Foreign, path.OverExposed))
	}

	p("")
	p("security groups")
	if len(g.SecurityGroups) == 0 {
		p("  none")
	}
	for _, sg := range g.SecurityGroups {
		head := "  " + sg.ID
		if sg.Name != "" {
			head += " " + sg.Name
		}
		head += " (" + strings.Join(sg.Roles, ", ") + ")"
		if len(sg.Targets) > 0 {
			head += " of " + strings.Join(sg.Targets, ", ")
		}
		p("%s", head)
		if sg.Missing {
			p("    not found in AWS")
			continue
		}
		if len(sg.Rules) == 0 {
			p("    no inbound rules")
		}
		for _, r := range sg.Rules {
			line := fmt.Sprintf("    %-40s %-6s", r.Text, r.Relation)
			if r.Foreign {
				line += " FOREIGN"
			} else {
				line += " lbsg"
			}
			if len(r.OverExposure) > 0 {
				line += " OVER-EXPOSED: " + strings.Join(r.OverExposure, "; ")
			}
			p("%s", strings.TrimRight(line, " "))
		}
	}

	p("")
	p("listeners")
	if len(g.Listeners) == 0 {
		p("  none")
	}
	for _, l := range g.Listeners {
		line := fmt.Sprintf("  %s:%d -> %s", l.Protocol, l.Port, strings.Join(l.TargetGroups, ", "))
		if l.Other != "" {
			line += " (also: " + l.Other + ")"
		}
		p("%s", line)
	}
	p("target groups")
	if len(g.TargetGroups) == 0 {
		p("  none")
	}
	for _, tg := range g.TargetGroups {
		head := fmt.Sprintf("  %s (%s targets, %s, health check port %s)", tg.Name, tg.TargetType, tg.Protocol, tg.HealthCheckPort)
		if tg.Service != "" {
			head += " service " + tg.Service
		}
		if tg.OfObject && len(g.Members) > 1 {
			head += " [" + g.Object.Kind + " " + g.Object.Namespace + "/" + g.Object.Name + "]"
		}
		p("%s", head)
		for _, t := range tg.Targets {
			line := fmt.Sprintf("    %s:%d", t.ID, t.Port)
			if t.ENI != "" {
				line += " eni " + t.ENI
			}
			if t.SecurityGroup != "" {
				line += " sg " + t.SecurityGroup
			}
			switch {
			case t.Error != "":
				line += " UNKNOWN SG: " + t.Error
			case !t.Reachable:
				line += " UNREACHABLE: no rule admits the traffic port from the load balancer"
			case !t.HealthCheckReachable:
				line += " reachable, HEALTH CHECK BLOCKED"
			default:
				line += " reachable"
			}
			p("%s", line)
		}
	}
	p("")
	p("summary: %d rules, %d foreign, %d over-exposed, %d unreachable targets",
		g.Summary.Rules, g.Summary.Foreign, g.Summary.OverExposed, g.Summary.Unreachable)
	return bw.Flush()
}

func writeAsked(p func(string, ...any), a Asked) {
	label := "  asked: clients"
	if len(a.Clients) == 0 {
		p("%s (none)", label)
	}
	for i, c := range a.Clients {
		if i > 0 {
			label = "                "
		}
		p("%s %s", label, c)
	}
	label = "         targets"
	if len(a.Targets) == 0 {
		p("%s (none)", label)
	}
	for i, t := range a.Targets {
		if i > 0 {
			label = "                "
		}
		p("%s %s", label, t)
	}
}

func pathText(p Path) string {
	targets := strings.Join(p.Targets, ", ")
	if p.Bypass {
		return fmt.Sprintf("%s -> %s [%s] -> %s (bypasses the load balancer)", p.Client, p.TargetSG, p.TargetRule, targets)
	}
	var parts []string
	client := p.Client
	if client == "" {
		client = "(no client)"
	}
	parts = append(parts, client)
	if p.FrontendSG != "" {
		parts = append(parts, fmt.Sprintf("%s [%s]", p.FrontendSG, p.ClientRule))
	}
	parts = append(parts, p.Listener, p.TargetGroup)
	if p.Blocked {
		parts = append(parts, p.TargetSG+" [BLOCKED: no rule admits the load balancer]")
	} else {
		parts = append(parts, fmt.Sprintf("%s [%s]", p.TargetSG, p.TargetRule))
	}
	parts = append(parts, targets)
	return strings.Join(parts, " -> ")
}

func marks(foreign, over bool) string {
	var m []string
	if over {
		m = append(m, "OVER-EXPOSED")
	}
	if foreign {
		m = append(m, "FOREIGN")
	}
	if len(m) == 0 {
		return ""
	}
	return "  (" + strings.Join(m, ", ") + ")"
}
