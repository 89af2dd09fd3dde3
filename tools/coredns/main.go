// A CoreDNS with only the plugins the test cluster's DNS needs (CoreDNS's own main links ~60
// plugins and builds 2-3 times longer). The directive order is CoreDNS's plugin.cfg order for the
// plugins kept: it decides which plugin sees a query first.
package main

import (
	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/forward"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
)

func init() {
	dnsserver.Directives = []string{"bind", "ready", "errors", "cache", "kubernetes", "forward"}
}

func main() { coremain.Run() }
