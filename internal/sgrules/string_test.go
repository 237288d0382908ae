package sgrules

import "testing"

func TestKeyString(t *testing.T) {
	tests := []struct {
		key  Key
		want string
	}{
		{Key{"tcp", 80, 80, PeerCIDR, "0.0.0.0/0"}, "tcp 80 from 0.0.0.0/0"},
		{Key{"tcp", 30000, 32767, PeerSG, "sg-123"}, "tcp 30000-32767 from sg-123"},
		{Key{"6", 0, 65535, PeerSG, "sg-123"}, "tcp 0-65535 from sg-123"},
		{Key{"udp", 53, 53, PeerCIDRv6, "::/0"}, "udp 53 from ::/0"},
		{Key{"tcp", 443, 443, PeerPrefixList, "pl-1"}, "tcp 443 from pl-1"},
		{Key{"icmp", 3, 4, PeerCIDRv6, "::/0"}, "icmp 3-4 from ::/0"},
		{Key{"icmpv6", 2, 0, PeerCIDRv6, "::/0"}, "icmpv6 2-0 from ::/0"},
		{Key{"icmp", -1, -1, PeerCIDR, "10.0.0.0/8"}, "icmp all from 10.0.0.0/8"},
		{Key{"icmp", 3, -1, PeerCIDR, "10.0.0.0/8"}, "icmp 3-all from 10.0.0.0/8"},
		{Key{"-1", 0, 0, PeerSG, "sg-1"}, "all from sg-1"},
		{Key{"all", -1, -1, PeerSG, "sg-1"}, "all from sg-1"},
	}
	for _, tt := range tests {
		if got := tt.key.String(); got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.key, got, tt.want)
		}
	}
}
