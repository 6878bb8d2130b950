// Package router is fnrun's HTTP data path: it routes requests by Host to an app's ready replicas, balances, times out, retries, queues cold starts and drains.
package router
