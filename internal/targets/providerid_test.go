package targets

import "testing"

func TestInstanceIDFromProviderID(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{in: "aws:///us-west-2a/i-0123456789abcdef0", want: "i-0123456789abcdef0"},
		{in: "aws:///i-0123456789abcdef0", want: "i-0123456789abcdef0"},
		{in: "aws:///eu-central-1b/i-1234abcd", want: "i-1234abcd"},
		{in: "", wantErr: true},
		{in: "i-0123456789abcdef0", wantErr: true},
		{in: "aws://us-west-2a/i-0123", wantErr: true},
		{in: "aws:///us-west-2a/", wantErr: true},
		{in: "aws:///", wantErr: true},
		{in: "aws:////i-0123", wantErr: true},
		{in: "aws:///us-west-2a/extra/i-0123", wantErr: true},
		{in: "aws:///us-west-2a/fargate-ip-10-0-0-1.ec2.internal", wantErr: true},
		{in: "aws:///us-west-2a/i-", wantErr: true},
		{in: "gce://project/zone/i-0123", wantErr: true},
		{in: "eks-hybrid:///us-west-2/cluster/mi-0123", wantErr: true},
		{in: "kind://docker/kind/kind-worker", wantErr: true},
	}
	for _, tt := range tests {
		got, err := InstanceIDFromProviderID(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("InstanceIDFromProviderID(%q) error = %v, wantErr %v", tt.in, err, tt.wantErr)
			continue
		}
		if got != tt.want {
			t.Errorf("InstanceIDFromProviderID(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}
