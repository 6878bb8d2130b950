package scheduler

import (
	"time"

	"github.com/fnrun/fnrun/router"
	"github.com/fnrun/fnrun/runtime"
)

// routeConfig is what the router needs of an app's manifest.
func routeConfig(m *runtime.Manifest) router.AppConfig {
	protocol := router.ProtocolHTTP1
	if m.H2C() {
		protocol = router.ProtocolH2C
	}
	return router.AppConfig{Timeout: time.Duration(m.Timeout) * time.Second, Protocol: protocol}
}
