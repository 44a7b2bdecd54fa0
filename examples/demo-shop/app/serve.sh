#!/bin/sh
exec /app/manage.sh serve
