package controller

import (
	"context"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/util/workqueue"
	clocktesting "k8s.io/utils/clock/testing"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/event"
)

// TestEnqueueFoldedFoldsABurst: the events of a rollout (Pods deleted, created, their IPs
// set) become one request, ready fold after the first event; another Service's events
// make their own.
func TestEnqueueFoldedFoldsABurst(t *testing.T) {
	clock := clocktesting.NewFakeClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	q := workqueue.NewTypedRateLimitingQueueWithConfig(NewRateLimiter[ServiceRequest](),
		workqueue.TypedRateLimitingQueueConfig[ServiceRequest]{Clock: clock})
	defer q.ShutDown()
	h := enqueueFolded(EndpointFold, func(_ context.Context, o client.Object) []ServiceRequest {
		return []ServiceRequest{{Namespace: o.GetNamespace(), Name: o.GetLabels()["app"]}}
	})
	ctx := context.Background()
	pod := func(name, app string) client.Object {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "shop", Name: name, Labels: map[string]string{"app": app}}}
	}
	h.Delete(ctx, event.TypedDeleteEvent[client.Object]{Object: pod("web-1", "web")}, q)
	h.Delete(ctx, event.TypedDeleteEvent[client.Object]{Object: pod("web-2", "web")}, q)
	settle()
	clock.Step(EndpointFold / 2)
	h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: pod("web-3", "web")}, q)
	h.Update(ctx, event.TypedUpdateEvent[client.Object]{ObjectOld: pod("web-3", "web"), ObjectNew: pod("web-3", "web")}, q)
	h.Create(ctx, event.TypedCreateEvent[client.Object]{Object: pod("api-1", "api")}, q)
	settle()
	if n := q.Len(); n != 0 {
		t.Fatalf("%d requests ready before the fold window passed, want 0", n)
	}
	clock.Step(EndpointFold / 2)
	want := map[ServiceRequest]bool{{Namespace: "shop", Name: "web"}: true}
	got := readyWithin(q, len(want))
	if len(got) != 1 || !got[ServiceRequest{Namespace: "shop", Name: "web"}] {
		t.Errorf("ready after the window = %v, want only shop/web, once", got)
	}
	clock.Step(EndpointFold / 2)
	if got := readyWithin(q, 1); len(got) != 1 || !got[ServiceRequest{Namespace: "shop", Name: "api"}] {
		t.Errorf("ready after api's window = %v, want shop/api", got)
	}
}

// settle lets the delaying queue's goroutine take in the requests just added, at the
// fake clock's current time.
func settle() { time.Sleep(50 * time.Millisecond) }

// readyWithin takes the requests that become ready within a second (the delaying queue
// moves them on its own goroutine), up to n of them, and counts every one taken.
func readyWithin(q workqueue.TypedRateLimitingInterface[ServiceRequest], n int) map[ServiceRequest]bool {
	got := map[ServiceRequest]bool{}
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) && q.Len() < n {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(20 * time.Millisecond) // a duplicate, if any, would be there too
	for q.Len() > 0 {
		r, _ := q.Get()
		if got[r] {
			got[ServiceRequest{Name: "duplicate of " + r.String()}] = true
		}
		got[r] = true
		q.Done(r)
	}
	return got
}
