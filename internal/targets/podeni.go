package targets

import (
	"encoding/json"
	"fmt"
	"slices"
)

// PodENIAnnotation is written on a Pod by the VPC resource controller when the Pod gets its
// own branch ENI (security groups for pods): a JSON array with one entry per branch ENI.
// Anyone who can write the Pod can write it too, so it is only a claim until EC2 confirms
// it (VerifyBranchENI).
const PodENIAnnotation = "vpc.amazonaws.com/pod-eni"

// BranchENIType is the InterfaceType EC2 reports for a branch ENI.
const BranchENIType = "branch"

// PodENIClaim is the entry of the annotation for one pod IP.
type PodENIClaim struct {
	ENIID     string `json:"eniId"`
	PrivateIP string `json:"privateIp"`
}

// ClaimFor returns the entry of the annotation value v whose privateIp is podIP. It fails,
// saying why, when v is not a JSON array of entries with an eniId, or no entry is for podIP.
func ClaimFor(v, podIP string) (PodENIClaim, error) {
	var entries []PodENIClaim
	if err := json.Unmarshal([]byte(v), &entries); err != nil {
		return PodENIClaim{}, fmt.Errorf("not a JSON array of branch ENIs: %v", err)
	}
	if len(entries) == 0 {
		return PodENIClaim{}, fmt.Errorf("no branch ENI listed")
	}
	for _, e := range entries {
		if e.PrivateIP != podIP {
			continue
		}
		if e.ENIID == "" {
			return PodENIClaim{}, fmt.Errorf("the entry for %s has no eniId", podIP)
		}
		return e, nil
	}
	return PodENIClaim{}, fmt.Errorf("no entry has privateIp %s, the Pod's IP", podIP)
}

// ObservedENI is what EC2 says of the ENI a claim names.
type ObservedENI struct {
	ID, Type, VPCID string
	PrivateIPs      []string
}

// VerifyBranchENI returns "" when EC2 confirms claim for podIP: the ENI exists (eni is not
// nil), holds podIP as a private address, is in the cluster's VPC (vpcID; "" skips the
// check) and is a branch ENI. Otherwise it returns why the claim is not used (the first
// check that fails, in that order: a forged claim is most often one of another ENI).
func VerifyBranchENI(claim PodENIClaim, podIP, vpcID string, eni *ObservedENI) string {
	switch {
	case eni == nil || eni.ID != claim.ENIID:
		return fmt.Sprintf("no network interface %s in EC2", claim.ENIID)
	case !slices.Contains(eni.PrivateIPs, podIP):
		return fmt.Sprintf("network interface %s does not hold the Pod's IP %s", eni.ID, podIP)
	case vpcID != "" && eni.VPCID != vpcID:
		return fmt.Sprintf("network interface %s is in VPC %s, not in the cluster's VPC %s", eni.ID, eni.VPCID, vpcID)
	case eni.Type != BranchENIType:
		return fmt.Sprintf("network interface %s is of type %q, not a branch ENI", eni.ID, eni.Type)
	}
	return ""
}
