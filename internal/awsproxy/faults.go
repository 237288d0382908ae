package awsproxy

import (
	"encoding/binary"
	"fmt"
	"hash/fnv"
	"html"
	"net/http"
	"strconv"
	"sync/atomic"
)

// draw returns a number in [0, 1) that depends only on the seed, the action, how many
// calls of the action came before (n) and salt, so that concurrent calls of other
// actions do not change which calls of this one fail.
func draw(seed int64, k Key, n uint64, salt uint64) float64 {
	h := fnv.New64a()
	var b [8]byte
	binary.LittleEndian.PutUint64(b[:], uint64(seed))
	h.Write(b[:])
	h.Write([]byte(k.Service))
	h.Write([]byte{0})
	h.Write([]byte(k.Action))
	x := splitmix(h.Sum64() ^ splitmix(n^(salt<<56)))
	return float64(x>>11) / (1 << 53)
}

// splitmix is the SplitMix64 finalizer: it spreads the bits of neighbouring inputs.
func splitmix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// faultReply is the HTTP status, the error code and the message of a fault in one
// service's words.
type faultReply struct {
	status  int
	code    string
	message string
}

func replyFor(service string, f Fault) faultReply {
	elb := service == ServiceELBV2
	switch f {
	case FaultThrottle:
		if elb {
			return faultReply{http.StatusBadRequest, "Throttling", "Rate exceeded"}
		}
		return faultReply{http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded."}
	case FaultInternalError:
		if elb {
			return faultReply{http.StatusInternalServerError, "InternalFailure", "The request processing has failed because of an unknown error, exception or failure."}
		}
		return faultReply{http.StatusInternalServerError, "InternalError", "An internal error has occurred."}
	case FaultServiceUnavailable:
		return faultReply{http.StatusServiceUnavailable, "ServiceUnavailable", "The request has failed due to a temporary failure of the server."}
	case FaultDependencyViolation:
		return faultReply{http.StatusBadRequest, "DependencyViolation", "resource has a dependent object"}
	}
	return faultReply{http.StatusInternalServerError, "InternalError", "unknown fault " + string(f)}
}

var requestSeq atomic.Uint64

// writeFault answers with f (naming groupID in a DependencyViolation) in the service's error document: EC2's
// <Response><Errors><Error>… or the <ErrorResponse><Error><Type>… of the other
// query-protocol services (ELBv2), with the request ID header the SDK reads.
func writeFault(w http.ResponseWriter, service string, f Fault, groupID string) {
	rep := replyFor(service, f)
	if f == FaultDependencyViolation && groupID != "" {
		rep.message = "resource " + groupID + " has a dependent object"
	}
	id := fmt.Sprintf("awsproxy-%08d", requestSeq.Add(1))
	var body string
	if service == ServiceELBV2 {
		typ := "Sender"
		if rep.status >= 500 {
			typ = "Receiver"
		}
		body = `<ErrorResponse xmlns="http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"><Error><Type>` + typ +
			`</Type><Code>` + rep.code + `</Code><Message>` + html.EscapeString(rep.message) +
			`</Message></Error><RequestId>` + id + `</RequestId></ErrorResponse>`
		w.Header().Set("x-amzn-RequestId", id)
	} else {
		body = `<?xml version="1.0" encoding="UTF-8"?>` + "\n" + `<Response><Errors><Error><Code>` + rep.code +
			`</Code><Message>` + html.EscapeString(rep.message) + `</Message></Error></Errors><RequestID>` + id +
			`</RequestID></Response>`
	}
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(rep.status)
	_, _ = w.Write([]byte(body))
}
