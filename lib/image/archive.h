/*
 * Image archives: an OCI image layout packed in a tar ("oci-archive") or a
 * `docker save` tarball ("docker-archive"), turned into an OCI image layout
 * directory that crio_image_import then reads like any other layout.
 */
#ifndef CRIO_IMAGE_ARCHIVE_H
#define CRIO_IMAGE_ARCHIVE_H

/*
 * Unpacks the archive at `path` (tar, optionally gzip/zstd/xz-compressed)
 * into the empty directory `outdir` as an OCI image layout.  Only the
 * layout's own files are taken (oci-layout, index.json, blobs/sha256/<hex>;
 * or a docker-archive's manifest.json, configs and layer tars, converted);
 * any other entry, or one with an unsafe name, is refused.  *name (malloc'd,
 * may be NULL) is the image name the archive records, if any.
 * Errors: CRIO_EINVAL for an unknown or malformed archive; the errno of a
 * failed read or write.
 */
int crio_image_archive_to_layout(const char *path, const char *outdir, char **name);

#endif
