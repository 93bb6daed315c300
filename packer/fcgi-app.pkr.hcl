# The fcgi-app AMI: Debian 12 with nginx, spawn-fcgi and fcgi-app baked
# in, built from this checkout.  No credential goes into the image: the
# launch template's user data writes the config at boot from SSM.
#
# Run from the top of the checkout (make ami).  This file validates with Debian 12's Packer (1.6.6); plugins.pkr.hcl
# (required_plugins) and imdsv2.pkr.hcl are for current Packer only.

variable "region" {
  type    = string
  default = "ap-northeast-2"
}

variable "instance_type" {
  type    = string
  default = "t2.micro"
}

variable "vpc_id" {
  type        = string
  default     = ""
  description = "VPC for the build instance; empty: the default VPC."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet for the build instance; it must give it a public IP or a NAT route."
}

variable "version" {
  type    = string
  default = "dev"
}

variable "git_revision" {
  type    = string
  default = "unknown"
}

variable "source_tarball" {
  type        = string
  default     = "build/fcgi-app-src.tar.gz"
  description = "git archive of the checkout, from the top of it (make ami writes it)."
}

variable "rds_ca_bundle" {
  type        = string
  default     = "build/rds-ca.pem"
  description = "The RDS CA bundle to install as /etc/fcgi-app/rds-ca.pem."
}

locals {
  timestamp = regex_replace(timestamp(), "[- TZ:]", "")
  tags = {
    Name        = "fcgi-app"
    Version     = var.version
    GitRevision = var.git_revision
    Project     = "fcgi-app"
  }
}

source "amazon-ebs" "debian12" {
  region        = var.region
  instance_type = var.instance_type
  vpc_id        = var.vpc_id
  subnet_id     = var.subnet_id

  source_ami_filter {
    filters = {
      name                = "debian-12-amd64-*"
      architecture        = "x86_64"
      virtualization-type = "hvm"
      root-device-type    = "ebs"
    }
    owners      = ["136693071363"] # Debian's official AWS account
    most_recent = true
  }

  # @metadata_options@ make ami puts IMDSv2 here on Packer >= 1.7 (imdsv2.hcl)

  ssh_username                = "admin"
  associate_public_ip_address = true

  ami_name        = "fcgi-app-${var.version}-${local.timestamp}"
  ami_description = "fcgi-app ${var.version} (${var.git_revision}) on Debian 12"
  encrypt_boot    = true

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = 8
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    encrypted             = true
    delete_on_termination = true
  }

  tags          = local.tags
  snapshot_tags = local.tags
  run_tags      = merge(local.tags, { Name = "fcgi-app-packer-builder" })
}

build {
  sources = ["source.amazon-ebs.debian12"]

  provisioner "shell" {
    inline = ["mkdir -p /tmp/fcgi-app-upload"]
  }

  provisioner "file" {
    sources = [
      var.source_tarball,
      var.rds_ca_bundle,
    ]
    destination = "/tmp/fcgi-app-upload/"
  }

  provisioner "shell" {
    script          = "${path.root}/provision.sh"
    execute_command = "sudo env UPLOAD_DIR=/tmp/fcgi-app-upload bash '{{ .Path }}'"
  }

  post-processor "manifest" {
    output     = "build/packer-manifest.json"
    strip_path = true
    custom_data = {
      version      = var.version
      git_revision = var.git_revision
    }
  }
}
