package router

import (
	"errors"
	"strconv"
	"time"

	"github.com/valyala/fasthttp"
)

// Error bodies are tiny fixed JSON documents: nothing internal ever reaches a client.
var (
	bodyNotFound       = []byte(`{"error":"not found"}`)
	bodyBadRequest     = []byte(`{"error":"bad request"}`)
	bodyTooLarge       = []byte(`{"error":"request body too large"}`)
	bodyHeaderTooLarge = []byte(`{"error":"request header too large"}`)
	bodyReqTimeout     = []byte(`{"error":"request timeout"}`)
	contentTypeJSON    = []byte("application/json")
)

func writeJSON(ctx *fasthttp.RequestCtx, status int, body []byte) int {
	ctx.Response.Reset()
	ctx.Response.SetStatusCode(status)
	ctx.Response.Header.SetContentTypeBytes(contentTypeJSON)
	ctx.Response.SetBody(body)
	return status
}

// writeAppError answers {"error":msg,"app":id} plus optional extra JSON members.
func writeAppError(ctx *fasthttp.RequestCtx, status int, msg, appID string, extra func([]byte) []byte) int {
	var buf [160]byte
	return writeJSON(ctx, status, appendAppError(buf[:0], msg, appID, extra))
}

// appendAppError appends the JSON error body {"error":msg,"app":id,...extra}.
func appendAppError(b []byte, msg, appID string, extra func([]byte) []byte) []byte {
	b = append(b, `{"error":"`...)
	b = append(b, msg...)
	b = append(b, `","app":`...)
	b = strconv.AppendQuote(b, appID)
	if extra != nil {
		b = extra(b)
	}
	return append(b, '}')
}

func writeNoReplica(ctx *fasthttp.RequestCtx, appID string) int {
	return writeAppError(ctx, fasthttp.StatusServiceUnavailable, "no ready replica", appID, nil)
}

func writeBadGateway(ctx *fasthttp.RequestCtx, appID string) int {
	return writeAppError(ctx, fasthttp.StatusBadGateway, "bad gateway", appID, nil)
}

func writeGatewayTimeout(ctx *fasthttp.RequestCtx, appID string, timeout time.Duration) int {
	return writeAppError(ctx, fasthttp.StatusGatewayTimeout, "upstream timed out", appID, func(b []byte) []byte {
		b = append(b, `,"timeout_seconds":`...)
		return strconv.AppendFloat(b, timeout.Seconds(), 'f', -1, 64)
	})
}

// handleParseError answers requests fasthttp could not read, without its internal error text.
func handleParseError(ctx *fasthttp.RequestCtx, err error) {
	var small *fasthttp.ErrSmallBuffer
	switch {
	case errors.Is(err, fasthttp.ErrBodyTooLarge):
		writeJSON(ctx, fasthttp.StatusRequestEntityTooLarge, bodyTooLarge)
	case errors.As(err, &small):
		writeJSON(ctx, fasthttp.StatusRequestHeaderFieldsTooLarge, bodyHeaderTooLarge)
	case isNetTimeout(err):
		writeJSON(ctx, fasthttp.StatusRequestTimeout, bodyReqTimeout)
	default:
		writeJSON(ctx, fasthttp.StatusBadRequest, bodyBadRequest)
	}
	ctx.SetConnectionClose()
}
