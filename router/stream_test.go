package router

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// sseUpstream sends "data: one", then "data: two" once next is closed.
func sseUpstream(t *testing.T) (up *upstream, next chan struct{}) {
	t.Helper()
	next = make(chan struct{})
	up = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = io.WriteString(w, "data: one\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-next:
		case <-r.Context().Done():
			return
		}
		_, _ = io.WriteString(w, "data: two\n\n")
	})
	return up, next
}

func TestSSEStreamsBeforeUpstreamFinishes(t *testing.T) {
	up, next := sseUpstream(t)
	tr := startRouter(t, Config{})
	tr.SetApp("sse", AppConfig{})
	tr.SetBackends("sse", []Backend{up.backend("sse-1")})

	resp := tr.do(http.MethodGet, "sse.localhost", "/events", nil, nil)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	br := bufio.NewReader(resp.Body)
	firstEvent := make(chan string, 1)
	go func() {
		var sb strings.Builder
		for !strings.HasSuffix(sb.String(), "\n\n") {
			line, err := br.ReadString('\n')
			sb.WriteString(line)
			if err != nil {
				break
			}
		}
		firstEvent <- sb.String()
	}()
	// The upstream is still blocked on `next`: the first event must arrive anyway.
	if ev := recvWithin(t, firstEvent, "the first event while the upstream is still open"); ev != "data: one\n\n" {
		t.Fatalf("first event %q", ev)
	}
	if st, _ := tr.Stats("sse"); st.InFlight != 1 || st.Backends["sse-1"] != 1 {
		t.Fatalf("while streaming: inflight %d backends %v", st.InFlight, st.Backends)
	}
	close(next)
	rest, err := io.ReadAll(br)
	if err != nil || string(rest) != "data: two\n\n" {
		t.Fatalf("rest of stream %q, %v", rest, err)
	}
	waitFor(t, "the stream's accounting to finish", func() bool {
		st, _ := tr.Stats("sse")
		return st.InFlight == 0 && st.Backends["sse-1"] == 0 && st.Status[200] == 1
	})
}

// wsAccept computes Sec-WebSocket-Accept (RFC 6455 §4.2.2).
func wsAccept(key string) string {
	h := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(h[:])
}

// writeFrame writes one unfragmented WebSocket frame with a payload under 126 bytes.
func writeFrame(w io.Writer, opcode byte, payload []byte, mask bool) error {
	hdr := []byte{0x80 | opcode, byte(len(payload))}
	data := append([]byte(nil), payload...)
	if mask {
		key := []byte{1, 2, 3, 4}
		hdr[1] |= 0x80
		hdr = append(hdr, key...)
		for i := range data {
			data[i] ^= key[i%4]
		}
	}
	_, err := w.Write(append(hdr, data...))
	return err
}

func readFrame(r io.Reader) (opcode byte, payload []byte, err error) {
	var hdr [2]byte
	if _, err = io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(hdr[1] & 0x7f)
	var key [4]byte
	masked := hdr[1]&0x80 != 0
	if masked {
		if _, err = io.ReadFull(r, key[:]); err != nil {
			return 0, nil, err
		}
	}
	payload = make([]byte, n)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, nil, err
	}
	if masked {
		for i := range payload {
			payload[i] ^= key[i%4]
		}
	}
	return hdr[0] & 0x0f, payload, nil
}

// wsEchoUpstream is a minimal WebSocket echo server written against RFC 6455.
func wsEchoUpstream(t *testing.T, seen chan<- http.Header) *upstream {
	return newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Header.Clone()
		if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			http.Error(w, "want websocket", http.StatusBadRequest)
			return
		}
		conn, brw, err := w.(http.Hijacker).Hijack()
		if err != nil {
			return
		}
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Accept: " + wsAccept(r.Header.Get("Sec-WebSocket-Key")) + "\r\n\r\n")
		_ = brw.Flush()
		for {
			op, payload, err := readFrame(brw)
			if err != nil {
				return
			}
			if err := writeFrame(conn, op, payload, false); err != nil || op == 8 {
				return
			}
		}
	})
}

func TestWebSocketEchoThroughRouter(t *testing.T) {
	seen := make(chan http.Header, 1)
	up := wsEchoUpstream(t, seen)
	tr := startRouter(t, Config{})
	tr.SetApp("ws", AppConfig{})
	tr.SetBackends("ws", []Backend{up.backend("ws-1")})

	conn, err := net.Dial("tcp", tr.addr)
	if err != nil {
		t.Fatalf("dial router: %v", err)
	}
	defer conn.Close()
	if err := conn.SetDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	key := "dGhlIHNhbXBsZSBub25jZQ=="
	_, err = io.WriteString(conn, "GET /chat HTTP/1.1\r\nHost: ws.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: "+key+"\r\nSec-WebSocket-Version: 13\r\n\r\n")
	if err != nil {
		t.Fatalf("write handshake: %v", err)
	}
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatalf("read handshake response: %v", err)
	}
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != wsAccept(key) {
		t.Fatalf("handshake: %d accept=%q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Accept"))
	}
	h := recvWithin(t, seen, "upstream handshake")
	if h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Request-Id") == "" {
		t.Errorf("handshake headers at upstream: %v", h)
	}
	for _, msg := range []string{"hello", "world"} {
		if err := writeFrame(conn, 1, []byte(msg), true); err != nil {
			t.Fatalf("write frame: %v", err)
		}
		op, payload, err := readFrame(br)
		if err != nil || op != 1 || string(payload) != msg {
			t.Fatalf("echo of %q: op %d %q %v", msg, op, payload, err)
		}
	}
	if st, _ := tr.Stats("ws"); st.InFlight != 1 || st.Backends["ws-1"] != 1 || st.Status[101] != 1 {
		t.Fatalf("open WebSocket stats: inflight %d backends %v status %v", st.InFlight, st.Backends, st.Status)
	}
	if err := writeFrame(conn, 8, nil, true); err != nil {
		t.Fatalf("write close: %v", err)
	}
	if op, _, err := readFrame(br); err != nil || op != 8 {
		t.Fatalf("close echo: op %d %v", op, err)
	}
	waitFor(t, "the tunnel to close", func() bool {
		st, _ := tr.Stats("ws")
		return st.InFlight == 0 && st.Backends["ws-1"] == 0
	})
}

func TestShutdownClosesTunnelsWhenContextEnds(t *testing.T) {
	seen := make(chan http.Header, 1)
	up := wsEchoUpstream(t, seen)
	tr := startRouter(t, Config{})
	tr.SetApp("ws", AppConfig{})
	tr.SetBackends("ws", []Backend{up.backend("ws-1")})

	conn, err := net.Dial("tcp", tr.addr)
	if err != nil {
		t.Fatalf("dial router: %v", err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(10 * time.Second))
	_, _ = io.WriteString(conn, "GET / HTTP/1.1\r\nHost: ws.localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==\r\nSec-WebSocket-Version: 13\r\n\r\n")
	br := bufio.NewReader(conn)
	if resp, err := http.ReadResponse(br, nil); err != nil || resp.StatusCode != http.StatusSwitchingProtocols {
		t.Fatalf("handshake: %v %v", resp, err)
	}
	recvWithin(t, seen, "upstream handshake")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := tr.Shutdown(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Shutdown with an open tunnel and an ended ctx: %v, want context.Canceled", err)
	}
	if _, _, err := readFrame(br); err == nil {
		t.Fatal("tunnel still open after Shutdown gave up waiting")
	}
}
