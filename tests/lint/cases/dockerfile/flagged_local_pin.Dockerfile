# A base image from the local registry pinned by tag only: the registry can give its digest (--fix pins it).
# expect-below: DP103
FROM localhost:5000/dockpod/debian:bookworm
USER 1000:1000
CMD ["true"]
