// Command etcd is the etcd server of go.etcd.io/etcd/server/v3 at the version go.mod pins
// (the one k8s.io/kubernetes itself requires), for the kube-real test cluster.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
