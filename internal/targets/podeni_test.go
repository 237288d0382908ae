package targets

import (
	"strings"
	"testing"
)

func TestClaimFor(t *testing.T) {
	const upstream = `[{"eniId":"eni-0bf8","ifAddress":"02:78:59:8f:ee:b2","privateIp":"10.0.1.5","vlanId":1,"subnetCidr":"10.0.1.0/24"}]`
	tests := []struct {
		name, v, ip string
		want        string
		wantInErr   string
	}{
		{name: "upstream shape", v: upstream, ip: "10.0.1.5", want: "eni-0bf8"},
		{name: "entry chosen by pod IP", v: `[{"eniId":"eni-a","privateIp":"10.0.1.4"},{"eniId":"eni-b","privateIp":"10.0.1.5","associationID":"x"}]`, ip: "10.0.1.5", want: "eni-b"},
		{name: "no entry for the pod IP", v: upstream, ip: "10.0.1.6", wantInErr: "no entry has privateIp 10.0.1.6"},
		{name: "not JSON", v: "eni-0bf8", ip: "10.0.1.5", wantInErr: "not a JSON array"},
		{name: "an object, not an array", v: `{"eniId":"eni-1","privateIp":"10.0.1.5"}`, ip: "10.0.1.5", wantInErr: "not a JSON array"},
		{name: "empty array", v: `[]`, ip: "10.0.1.5", wantInErr: "no branch ENI listed"},
		{name: "empty value", v: ``, ip: "10.0.1.5", wantInErr: "not a JSON array"},
		{name: "no eniId", v: `[{"privateIp":"10.0.1.5"}]`, ip: "10.0.1.5", wantInErr: "no eniId"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ClaimFor(tt.v, tt.ip)
			if tt.wantInErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantInErr) {
					t.Fatalf("ClaimFor = %v, %v; want error with %q", got, err, tt.wantInErr)
				}
				return
			}
			if err != nil || got.ENIID != tt.want {
				t.Fatalf("ClaimFor = %v, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestVerifyBranchENIRefusesWhatEC2DoesNotConfirm(t *testing.T) {
	claim := PodENIClaim{ENIID: "eni-b", PrivateIP: "10.0.1.5"}
	good := ObservedENI{ID: "eni-b", Type: "branch", VPCID: "vpc-1", PrivateIPs: []string{"10.0.1.5"}}
	with := func(f func(*ObservedENI)) *ObservedENI { e := good; f(&e); return &e }
	tests := []struct {
		name string
		eni  *ObservedENI
		want string // "" or a substring of the reason
	}{
		{"confirmed", &good, ""},
		{"missing", nil, "no network interface eni-b"},
		{"another ENI", with(func(e *ObservedENI) { e.ID = "eni-x" }), "no network interface eni-b"},
		{"primary ENI, not branch", with(func(e *ObservedENI) { e.Type = "interface" }), `type "interface", not a branch ENI`},
		{"trunk ENI", with(func(e *ObservedENI) { e.Type = "trunk" }), "not a branch ENI"},
		{"another VPC", with(func(e *ObservedENI) { e.VPCID = "vpc-2" }), "VPC vpc-2, not in the cluster's VPC vpc-1"},
		{"does not hold the pod IP", with(func(e *ObservedENI) { e.PrivateIPs = []string{"10.0.1.9"} }), "does not hold the Pod's IP 10.0.1.5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := VerifyBranchENI(claim, "10.0.1.5", "vpc-1", tt.eni)
			if (tt.want == "") != (got == "") || !strings.Contains(got, tt.want) {
				t.Fatalf("VerifyBranchENI = %q, want %q", got, tt.want)
			}
		})
	}
}
