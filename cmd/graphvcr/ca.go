package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/graphvcr/graphvcr/proxy"
)

func caCommand() *cli.Command {
	return &cli.Command{
		Name:  "ca",
		Usage: "print the path of graphvcr's CA certificate, creating the CA if needed",
		Description: "graphvcr signs the certificates of its --tls listener and of intercepted HTTPS with its\n" +
			"own CA, created once per install (key file mode 0600). Trust it in the bot, e.g.\n" +
			"NODE_EXTRA_CA_CERTS=$(graphvcr ca), or SSL_CERT_FILE for Go on Linux.",
		Action: func(c *cli.Context) error {
			if err := noArgs(c); err != nil {
				return err
			}
			return printCA(c.App.Writer, c.String("ca-dir"))
		},
	}
}

// printCA prints the CA certificate's path, alone, so that
// NODE_EXTRA_CA_CERTS=$(graphvcr ca) works.
func printCA(stdout io.Writer, dir string) error {
	ca, err := loadCA(dir)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, ca.CertPath())
	return err
}

// loadCA loads graphvcr's CA from dir ("" = proxy.DefaultCADir()), creating
// it on first use.
func loadCA(dir string) (*proxy.CA, error) {
	dir, err := keyDir("", "the CA", dir)
	if err != nil {
		return nil, err
	}
	ca, err := proxy.LoadCA(dir)
	if err != nil {
		return nil, &inputError{op: "load CA from", path: dir, err: err}
	}
	return ca, nil
}

// keyDir returns dir, or when it is "" the default directory of graphvcr's
// keys (proxy.DefaultCADir()), where the CA and the notification signing key
// (what) are kept; no such directory is a usage error of cmd.
func keyDir(cmd, what, dir string) (string, error) {
	if dir != "" {
		return dir, nil
	}
	d, err := proxy.DefaultCADir()
	if err != nil {
		return "", usagef(cmd, "no user config directory to keep %s in (%v); pass --ca-dir DIR", what, err)
	}
	return d, nil
}
