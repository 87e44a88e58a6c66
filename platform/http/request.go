package http

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
)

// RequestIDHeader carries a request's id, both ways.
const RequestIDHeader = "X-Request-Id"

// maxRequestIDBytes bounds a client's request id; a longer one is replaced.
const maxRequestIDBytes = 128

type requestKey struct{}

type requestInfo struct {
	id  string
	log *slog.Logger
}

// RequestID returns the id of the request ctx belongs to: the client's
// X-Request-Id when it sent a sane one (1 to 128 characters of letters,
// digits and -_.:/+=~), else one the server made up. "" outside a request.
func RequestID(ctx context.Context) string {
	info, _ := ctx.Value(requestKey{}).(requestInfo)
	return info.id
}

// logger returns the request's logger, which names its id on every line.
func (s *Server) logger(ctx context.Context) *slog.Logger {
	return requestLogger(ctx, s.log)
}

func requestLogger(ctx context.Context, fallback *slog.Logger) *slog.Logger {
	if info, ok := ctx.Value(requestKey{}).(requestInfo); ok {
		return info.log
	}
	return fallback
}

// saneRequestID reports whether a client's id can be logged and echoed as
// is: short, and no character that could forge a log field or a header.
func saneRequestID(id string) bool {
	if id == "" || len(id) > maxRequestIDBytes {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case c == '-', c == '_', c == '.', c == ':', c == '/', c == '+', c == '=', c == '~':
		default:
			return false
		}
	}
	return true
}

func newRequestID() string {
	var b [12]byte
	rand.Read(b[:]) // never fails (crypto/rand)
	return hex.EncodeToString(b[:])
}
