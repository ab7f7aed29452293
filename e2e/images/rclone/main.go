// rclone (github.com/rclone/rclone) for the suite's rclone image, built as rclone's own rclone.go builds it, with
// only the backends and commands the program's backup-s3 service (components/services/backup/offsite.sh) and the
// suite's S3 server use: the local and s3 backends; copy, lsf, delete, purge, cat, size, version; serve s3.
// rclone's own binary has every backend and command (backend/all, cmd/all); these behave the same.
package main

import (
	_ "github.com/rclone/rclone/backend/local"
	_ "github.com/rclone/rclone/backend/s3"
	"github.com/rclone/rclone/cmd"
	_ "github.com/rclone/rclone/cmd/cat"
	_ "github.com/rclone/rclone/cmd/copy"
	_ "github.com/rclone/rclone/cmd/delete"
	_ "github.com/rclone/rclone/cmd/lsf"
	_ "github.com/rclone/rclone/cmd/purge"
	_ "github.com/rclone/rclone/cmd/serve"
	_ "github.com/rclone/rclone/cmd/serve/s3"
	_ "github.com/rclone/rclone/cmd/size"
	_ "github.com/rclone/rclone/cmd/version"
)

func main() {
	cmd.Main()
}
