//go:build linux

package localenv

import (
	"net"
	"os"
	"testing"
)

func TestListensOnTellsOwnerFromOthers(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port

	if owned, known := listensOn(os.Getpid(), port); !known || !owned {
		t.Errorf("own listener: owned=%v known=%v, want true true", owned, known)
	}
	if owned, known := listensOn(os.Getppid(), port); !known || owned {
		t.Errorf("parent process: owned=%v known=%v, want false true", owned, known)
	}
	free, err := freeLoopbackPort()
	if err != nil {
		t.Fatal(err)
	}
	if owned, _ := listensOn(os.Getpid(), free); owned {
		t.Errorf("port %d nobody listens on is reported as owned", free)
	}
}
