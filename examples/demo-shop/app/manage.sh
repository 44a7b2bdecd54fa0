#!/bin/sh
# Usage: ./manage.sh migrate | check-security | fix-tree | serve
case "$1" in
  migrate)
    echo "Operations to perform:"
    echo "  Apply all migrations: shop, auth"
    for m in 0001_initial 0002_prices 0003_stock; do
      echo "  Applying shop.$m... OK"
      sleep 0.2
    done
    ;;
  check-security)
    echo "Running security configuration checks..."
    echo
    echo "database configuration    ... passed"
    echo "user accounts             ... passed"
    if [ "${SHOP_HTTPS_ENFORCED:-no}" = "yes" ]; then
      echo "gateway server            ... passed"
      echo
      echo "Security configuration checks passed."
    else
      echo "gateway server            ... failed (HTTPS not enforced; no exemptions)"
      echo
      echo "Security configuration checks failed." >&2
      exit 1
    fi
    ;;
  fix-tree)
    echo "Checking the page tree... 42 pages, 0 problems"
    ;;
  serve)
    echo "Serving the shop (release phase: ${RELEASE_COMMAND:-0})"
    exec sleep 3600
    ;;
  *)
    echo "unknown command: $1" >&2
    exit 2
    ;;
esac
