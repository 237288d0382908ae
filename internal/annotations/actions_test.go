package annotations

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/lbsg/lbsg/internal/state"
)

// TestParseActionForms guards the action forms upstream documents, read as upstream reads
// them (servicePort as a number or a name, field names in any case).
func TestParseActionForms(t *testing.T) {
	w := func(v int32) *int32 { return &v }
	cases := []struct {
		name, value string
		want        *Action
	}{
		{"forward by ARN", `{"type":"forward","targetGroupARN":"arn:tg"}`,
			&Action{Type: "forward", Targets: []ActionTarget{{TargetGroupARN: "arn:tg"}}}},
		{"weighted forward with stickiness", `{"type":"forward","forwardConfig":{"targetGroups":[{"serviceName":"a","servicePort":80,"weight":0},{"serviceName":"b","servicePort":"http","weight":999},{"targetGroupARN":"arn:tg"}],"targetGroupStickinessConfig":{"enabled":true,"durationSeconds":604800}}}`,
			&Action{Type: "forward", Targets: []ActionTarget{{ServiceName: "a", ServicePort: "80", Weight: w(0)}, {ServiceName: "b", ServicePort: "http", Weight: w(999)}, {TargetGroupARN: "arn:tg"}},
				Stickiness: &state.Stickiness{Enabled: true, DurationSeconds: 604800}}},
		{"redirect", `{"Type":"redirect","RedirectConfig":{"Protocol":"HTTPS","Port":"443","StatusCode":"HTTP_301"}}`,
			&Action{Type: "redirect", Redirect: &state.Redirect{Protocol: "HTTPS", Port: "443", StatusCode: "HTTP_301"}}},
		{"fixed response", `{"type":"fixed-response","fixedResponseConfig":{"contentType":"text/plain","statusCode":"503","messageBody":"503 error text"}}`,
			&Action{Type: "fixed-response", FixedResponse: &state.FixedResponse{ContentType: "text/plain", StatusCode: "503", MessageBody: "503 error text"}}},
	}
	for _, tc := range cases {
		got, err := ParseAction(IngActionsPrefix+"x", tc.value)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if diff := cmp.Diff(tc.want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tc.name, diff)
		}
	}
}

// TestParseConditionsForms guards the six condition fields in upstream's documented form.
func TestParseConditionsForms(t *testing.T) {
	got, err := ParseConditions(IngConditionsPrefix+"x", `[
		{"field":"host-header","hostHeaderConfig":{"values":["anno.example.com"]}},
		{"field":"path-pattern","pathPatternConfig":{"values":["/anno/path2"]}},
		{"field":"http-header","httpHeaderConfig":{"httpHeaderName":"HeaderName","values":["HeaderValue1","HeaderValue2"]}},
		{"field":"http-request-method","httpRequestMethodConfig":{"Values":["GET","HEAD"]}},
		{"field":"query-string","queryStringConfig":{"values":[{"key":"paramA","value":"valueA1"},{"value":"bare"}]}},
		{"field":"source-ip","sourceIpConfig":{"values":["192.168.0.0/16","2001:db8::/32"]}}]`)
	if err != nil {
		t.Fatal(err)
	}
	want := []Condition{
		{Field: "host-header", Values: []string{"anno.example.com"}},
		{Field: "path-pattern", Values: []string{"/anno/path2"}},
		{Field: "http-header", HeaderName: "HeaderName", Values: []string{"HeaderValue1", "HeaderValue2"}},
		{Field: "http-request-method", Values: []string{"GET", "HEAD"}},
		{Field: "query-string", Query: []state.QueryPair{{Key: "paramA", Value: "valueA1"}, {Value: "bare"}}},
		{Field: "source-ip", Values: []string{"192.168.0.0/16", "2001:db8::/32"}},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

// actions.* and conditions.* are read, so they are not reported as unsupported.
func TestActionAndConditionKeysNotReportedUnsupported(t *testing.T) {
	ann := map[string]string{IngActionsPrefix + "a": "{}", IngConditionsPrefix + "b": "[]"}
	if keys := UnsupportedIngressKeys(ann); len(keys) != 0 {
		t.Errorf("reported as unsupported: %v", keys)
	}
}
