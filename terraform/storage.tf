###############################################################################
# Artifacts bucket read by MWAA: dags/, plugins.zip, requirements.txt.
# Objects are uploaded by `make deploy` (not by Terraform); MWAA loads the
# plugins.zip and requirements.txt versions pinned in var.*_s3_object_version.
###############################################################################

resource "aws_s3_bucket" "artifacts" {
  #checkov:skip=CKV_AWS_18:Holds only build artifacts that `make deploy` uploads from git; object-level audit belongs to CloudTrail data events, and an access-log bucket would itself need this same exemption.
  #checkov:skip=CKV_AWS_144:Every object is rebuilt from the repository by `make package` and `make deploy`, so a cross-Region replica adds a second bucket and cost without adding recoverability.
  #checkov:skip=CKV2_AWS_62:Nothing consumes object events: MWAA polls dags/ itself and picks up plugins.zip/requirements.txt only through the versions pinned in Terraform.
  bucket = local.artifacts_bucket_name

  # Versions are how MWAA pins plugins.zip and requirements.txt; keep the bucket if it still has them.
  force_destroy = false

  tags = { Name = local.artifacts_bucket_name }
}

resource "aws_s3_bucket_versioning" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_public_access_block" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.this.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id

  rule {
    id     = "expire-old-noncurrent-versions"
    status = "Enabled"

    # Whole bucket. An empty filter {} draws an "Invalid Attribute Combination" warning since provider 5.90.
    filter {
      prefix = ""
    }

    # The ten most recent previous versions of every object are always kept, so a pinned
    # plugins.zip/requirements.txt version survives several later uploads.
    noncurrent_version_expiration {
      noncurrent_days           = 90
      newer_noncurrent_versions = 10
    }

    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  # Staged downloads are only needed during their run; the etl_runs table keeps their sha256.
  rule {
    id     = "expire-staged-downloads"
    status = "Enabled"

    filter {
      prefix = "${local.staging_prefix}/"
    }

    expiration {
      days = 7
    }

    noncurrent_version_expiration {
      noncurrent_days = 1
    }
  }

  depends_on = [aws_s3_bucket_versioning.artifacts]
}

data "aws_iam_policy_document" "artifacts_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.artifacts.arn,
      "${aws_s3_bucket.artifacts.arn}/*",
    ]

    principals {
      type        = "*"
      identifiers = ["*"]
    }

    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "artifacts" {
  bucket = aws_s3_bucket.artifacts.id
  policy = data.aws_iam_policy_document.artifacts_bucket.json

  depends_on = [aws_s3_bucket_public_access_block.artifacts]
}
