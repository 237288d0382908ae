// Package localenv starts the real parts lbsg's tests and `lbsg demo` run against: a
// kube-apiserver and etcd (through controller-runtime's envtest) and the moto AWS emulator
// in server mode, and seeds them with what an EKS cluster in AWS looks like (a VPC, tagged
// subnets, a node security group, one EC2 instance and one Node object per node).
//
// Nothing here imports package testing: the demo command uses it too. Every part that is
// missing is reported as an error that says how to get it; tests must fail on it, not skip.
//
// moto quirks this package knows about (see DESIGN.md §4):
//   - RunInstances needs an image moto knows, so SeedWorld takes the first image
//     DescribeImages returns for owner amazon;
//   - after ModifyNetworkInterfaceAttribute, DescribeInstances still lists the old groups:
//     read an ENI's groups with DescribeNetworkInterfaces (see ENIGroups);
//   - moto answers unimplemented calls with HTTP 500, which the SDK's default retryer
//     retries; AWSConfig limits the SDK to 2 attempts so such calls surface quickly.
package localenv
