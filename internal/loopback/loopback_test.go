package loopback

import "testing"

func TestHostPort(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want bool
	}{
		{"127.0.0.1", true},
		{"127.0.0.1:5000", true},
		{"127.8.9.10:443", true},
		{"localhost", true},
		{"LOCALHOST:5000", true},
		{"[::1]:5000", true},
		{"::1", true},
		{"10.0.0.5:5000", false},
		{"192.168.1.2", false},
		{"172.16.0.1:5000", false},
		{"127.0.0.1.attacker.example", false},
		{"localhost.attacker.example:5000", false},
		{"registry.example", false},
		{"", false},
	} {
		if got := HostPort(tc.in); got != tc.want {
			t.Errorf("HostPort(%q) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
