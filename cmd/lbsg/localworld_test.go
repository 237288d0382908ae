package main

import (
	"context"
	"testing"

	"github.com/lbsg/lbsg/internal/localenv"
)

// localWorld starts the AWS emulator and a local kube-apiserver for one test, seeds what an
// EKS cluster named cluster looks like, and points KUBECONFIG at the control plane; both
// stop when the test ends. A missing part fails the test, never skips it.
func localWorld(ctx context.Context, t *testing.T, cluster string) (*localenv.Moto, *localenv.ControlPlane, *localenv.World) {
	t.Helper()
	for k, v := range map[string]string{"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
		"AWS_REGION": localenv.Region, "AWS_EC2_METADATA_DISABLED": "true"} {
		t.Setenv(k, v)
	}
	moto, err := localenv.StartMoto(ctx)
	if err != nil {
		t.Fatalf("the AWS emulator is required: %v", err)
	}
	t.Cleanup(func() { moto.Close() })
	plane, err := localenv.StartControlPlane(ctx, localenv.ControlPlaneOptions{})
	if err != nil {
		t.Fatalf("kube-apiserver and etcd are required: %v", err)
	}
	t.Cleanup(func() { plane.Stop() })
	t.Setenv("KUBECONFIG", plane.Kubeconfig)
	awsCfg, err := moto.AWSConfig(ctx)
	if err != nil {
		t.Fatal(err)
	}
	world, err := localenv.SeedWorld(ctx, awsCfg, plane.Client, localenv.WorldOptions{Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	return moto, plane, world
}
