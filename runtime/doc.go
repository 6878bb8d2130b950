// Package runtime is fnrun's app model: the manifest (fnrun.yml / jcloud.yml), the instance catalog and the detection that turns an app directory into a command line and environment.
package runtime
