# The fcgi-app AMI: Debian 12 with nginx, spawn-fcgi and fcgi-app baked
# in, built from this checkout.  No credential goes into the image: the
# launch template's user data writes the config at boot from SSM.
#
# Two sources, one build: amazon-ebs makes the AMI in AWS (make ami);
# qemu makes the same image offline from a local stand-in for Debian's
# AMI (make image, packer/image.sh), with the same provisioners.
#
# Run from the top of the checkout.  This file validates with Debian 12's
# Packer (1.6.6); plugins.pkr.hcl (required_plugins) and imdsv2.hcl are
# for current Packer only.

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

# --- the qemu source (make image); packer/image.sh sets these ---

variable "base_image" {
  type        = string
  default     = "build/cache/base-image/none/disk.qcow2"
  description = "The local base image: scripts/base-image.sh's disk.qcow2."
}

variable "base_image_checksum" {
  type    = string
  default = "none"
}

variable "base_kernel" {
  type        = string
  default     = "build/cache/base-image/none/vmlinuz"
  description = "The base image's kernel, booted directly, and its initrd beside it."
}

variable "base_initrd" {
  type    = string
  default = "build/cache/base-image/none/initrd.img"
}

variable "base_cmdline" {
  type    = string
  default = "root=/dev/vda ro console=ttyS0,115200"
}

variable "accelerator" {
  type        = string
  default     = "tcg"
  description = "kvm where /dev/kvm boots a guest (packer/image.sh probes it), tcg otherwise."
}

variable "seed_dir" {
  type        = string
  default     = "build/image-seed"
  description = "The NoCloud seed: meta-data and user-data with the build's SSH key."
}

variable "ssh_private_key_file" {
  type    = string
  default = "build/image-seed/id_ed25519"
}

variable "image_dir" {
  type        = string
  default     = "build/image"
  description = "Where the qemu source writes fcgi-app.qcow2; it must not exist yet."
}

variable "console_log" {
  type    = string
  default = "build/image-console.log"
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

# The same image offline: the base image under qemu, which cloud-init
# configures from a NoCloud seed (a CD labelled cidata) with the key
# Packer connects with.
source "qemu" "debian12" {
  disk_image       = true
  iso_url          = var.base_image
  iso_checksum     = var.base_image_checksum
  output_directory = var.image_dir
  vm_name          = "fcgi-app.qcow2"
  format           = "qcow2"
  disk_interface   = "virtio"
  disk_size        = "4096M"
  net_device       = "virtio-net"
  accelerator      = var.accelerator
  cpus             = 2
  memory           = 1024
  headless         = true

  cd_files = ["${var.seed_dir}/meta-data", "${var.seed_dir}/user-data"]
  cd_label = "cidata"
  qemuargs = [
    ["-kernel", var.base_kernel],
    ["-initrd", var.base_initrd],
    ["-append", var.base_cmdline],
    ["-serial", "file:${var.console_log}"],
  ]

  ssh_username         = "admin"
  ssh_private_key_file = var.ssh_private_key_file
  ssh_timeout          = "15m"
  shutdown_command     = "sudo systemctl poweroff"
  shutdown_timeout     = "5m"
}

build {
  sources = ["source.amazon-ebs.debian12", "source.qemu.debian12"]

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

  # The CloudWatch agent, from AWS, its signature verified: in AWS only.
  # The qemu build installs the same configuration (provision.sh), which
  # make packer-check checks against packer/cloudwatch-agent.schema.json.
  provisioner "shell" {
    only            = ["amazon-ebs.debian12"]
    script          = "${path.root}/cloudwatch-agent.sh"
    execute_command = "sudo bash '{{ .Path }}'"
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
