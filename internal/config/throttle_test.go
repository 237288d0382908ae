package config

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/cloud"
)

// throttleByString compares rule sets by their flag syntax (regexps do not compare).
var throttleByString = cmp.Comparer(func(a, b cloud.Throttle) bool { return a.String() == b.String() })

func TestAWSAPIThrottleFlag(t *testing.T) {
	def := cloud.DefaultThrottle()
	defaultsOf := func(service string) string {
		var keep cloud.Throttle
		for _, r := range def {
			if r.Service == service {
				keep = append(keep, r)
			}
		}
		return keep.String()
	}
	tests := []struct {
		name string
		args []string
		want string // the resulting rules in flag syntax
	}{
		{"defaults", nil, def.String()},
		{"the defaults, written out in the flag's syntax, are the defaults",
			[]string{"--aws-api-throttle=" + def.String()}, def.String()},
		{"upstream's documented example replaces the ELBv2 defaults only",
			[]string{"--aws-api-throttle=Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20,Elastic Load Balancing v2:.*=10:40"},
			defaultsOf(cloud.ServiceEC2) + ",Elastic Load Balancing v2:RegisterTargets|DeregisterTargets=4:20,Elastic Load Balancing v2:.*=10:40"},
		{"both services, aliases and fractional rates",
			[]string{"--aws-api-throttle=ec2:^Describe=2.5:5, elbv2:.*=0.5:1"},
			"EC2:^Describe=2.5:5,Elastic Load Balancing v2:.*=0.5:1"},
		{"upstream's other services are accepted and dropped",
			[]string{"--aws-api-throttle=WAFV2:^AssociateWebACL=0.5:1,WAF Regional:^Get=1:1"},
			def.String()},
		{"a later value for a service replaces an earlier one",
			[]string{"--aws-api-throttle=EC2:.*=1:1", "--aws-api-throttle=EC2:^Create=2:3"},
			defaultsOf(cloud.ServiceELBV2) + ",EC2:^Create=2:3"},
		{"a regex may hold = and :",
			[]string{"--aws-api-throttle=EC2:^(?:Describe|Get)=1:2"},
			defaultsOf(cloud.ServiceELBV2) + ",EC2:^(?:Describe|Get)=1:2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustParse(t, tt.args...)
			if got := c.AWSAPIThrottle.String(); got != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestAWSAPIThrottleFlagBadValues(t *testing.T) {
	tests := []struct {
		value string
		want  []string // substrings of the error: the flag, the value, what is wrong, the fix
	}{
		{"", []string{"--aws-api-throttle", "empty value", "serviceID:operationRegex=rate:burst"}},
		{"EC2:.*", []string{`entry "EC2:.*"`, `no "="`, "fix: write serviceID:operationRegex=rate:burst"}},
		{"EC2=1:2", []string{`no ":" between the service ID`}},
		{"EC3:.*=1:2", []string{`unknown AWS service ID "EC3"`}},
		{"EC2:(=1:2", []string{`operation regex "("`}},
		{"EC2:=1:2", []string{"empty operation regex"}},
		{"EC2:.*=10", []string{`"10" is not rate:burst`}},
		{"EC2:.*=fast:2", []string{`rate "fast" must be a positive number`}},
		{"EC2:.*=0:2", []string{`rate "0" must be a positive number`}},
		{"EC2:.*=-1:2", []string{`rate "-1"`}},
		{"EC2:.*=Inf:2", []string{`rate "Inf"`}},
		{"EC2:.*=1:0", []string{`burst "0" must be a whole number of calls, at least 1`}},
		{"EC2:.*=1:2.5", []string{`burst "2.5"`}},
		{"EC2:.*=1:2,,EC2:x=1:1", []string{"empty entry"}},
		{"EC2:.*=0:1,EC2:(=1:1", []string{`rate "0"`, `operation regex "("`}}, // every bad entry is reported
	}
	for _, tt := range tests {
		_, err := parse(t, "--cluster-name=c", "--aws-api-throttle="+tt.value)
		if err == nil {
			t.Errorf("%q: accepted", tt.value)
			continue
		}
		for _, w := range tt.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%q: error %q does not say %q", tt.value, err, w)
			}
		}
		if !strings.Contains(err.Error(), "--aws-api-throttle") || !strings.Contains(err.Error(), tt.value) {
			t.Errorf("%q: error %q must name the flag and the value", tt.value, err)
		}
	}
}
