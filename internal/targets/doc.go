// Package targets holds the pure parts of resolving the ENIs of load-balancer targets
// (nodes for instance targets, pods for ip targets) and the security group on each ENI that
// gets lbsg's inbound rules. The describes themselves live in internal/cloud; this package
// does no I/O.
package targets
