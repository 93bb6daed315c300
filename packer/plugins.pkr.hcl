# For current Packer (>= 1.7), which loads the Amazon builder as a
# plugin: make ami runs `packer init` on a staged folder with this file.
# Debian 12's Packer 1.6.6 has the builder built in and rejects this
# block, so fcgi-app.pkr.hcl is validated on its own.
packer {
  required_plugins {
    amazon = {
      version = ">= 1.2.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
