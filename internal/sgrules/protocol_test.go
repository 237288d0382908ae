package sgrules

import "testing"

func TestNormalizeProtocol(t *testing.T) {
	tests := []struct{ in, want string }{
		{"tcp", "tcp"},
		{"TCP", "tcp"},
		{"6", "tcp"},
		{" Tcp ", "tcp"},
		{"udp", "udp"},
		{"UDP", "udp"},
		{"17", "udp"},
		{"icmp", "icmp"},
		{"1", "icmp"},
		{"icmpv6", "icmpv6"},
		{"ICMPv6", "icmpv6"},
		{"58", "icmpv6"},
		{"-1", "-1"},
		{"all", "-1"},
		{"ALL", "-1"},
		{"132", "132"},
		{"SCTP", "sctp"},
		{"", ""},
	}
	for _, tt := range tests {
		if got := NormalizeProtocol(tt.in); got != tt.want {
			t.Errorf("NormalizeProtocol(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestKeyCanonical(t *testing.T) {
	tests := []struct {
		name string
		in   Key
		want Key
	}{
		{"tcp upper", Key{"TCP", 80, 80, PeerSG, "sg-1"}, Key{"tcp", 80, 80, PeerSG, "sg-1"}},
		{"all -1 ports", Key{"-1", -1, -1, PeerCIDR, "10.0.0.0/8"}, Key{"-1", 0, 0, PeerCIDR, "10.0.0.0/8"}},
		{"all named", Key{"all", 0, 65535, PeerSG, "sg-1"}, Key{"-1", 0, 0, PeerSG, "sg-1"}},
		{"icmp kept", Key{"1", -1, -1, PeerCIDR, "0.0.0.0/0"}, Key{"icmp", -1, -1, PeerCIDR, "0.0.0.0/0"}},
		{"icmpv6 kept", Key{"58", 2, 0, PeerCIDRv6, "::/0"}, Key{"icmpv6", 2, 0, PeerCIDRv6, "::/0"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.in.Canonical(); got != tt.want {
				t.Errorf("Canonical() = %+v, want %+v", got, tt.want)
			}
		})
	}
}
