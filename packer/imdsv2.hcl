  # IMDSv2 required on the build instance.  Packer 1.6.6 does not know
  # this block, so make ami adds it to a staged copy of fcgi-app.pkr.hcl
  # only when the Packer it runs is newer.
  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = 1
  }
