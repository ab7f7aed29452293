#!/bin/sh
# Keeps the container running until Docker stops it; says what it is so nobody mistakes it for the service.
echo "stand-in for ${SUPABASE_E2E_STANDIN_FOR}: not the real service; arguments ignored: $*"
trap 'exit 0' TERM INT
while :; do sleep 3600 & wait $!; done
