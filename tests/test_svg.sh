#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# The storm's picture (--svg) on 2-, 16- and 64-node hosts, and the
# sweep's (numaclaim sweep --svg) with one seed and with several.
#   test_svg.sh xml PATH/TO/numaclaim      well-formed XML in the SVG
#       namespace (xmllint), at a fixed width, with the structure
#       docs/storm.md describes: four policy rows, six layers each, a
#       free-memory panel each, a heat-map row per node, node labels,
#       offline marks; for a sweep, ten panels, a line per policy and
#       panel (less the reference's in the difference panels), a point
#       per value, error bars only with seeds
#   test_svg.sh render PATH/TO/numaclaim   rendered by a real browser
#       (headless Chromium): the SVG parses, loads as an image at its
#       size with nothing on the console, and its screenshot is a PNG of
#       that size that is far from blank
# Either skips (exit 77) when its tool (xmllint, chromium) is absent;
# scripts/deps.sh installs both.
set -u
mode=$1
bin=$2
case $mode in
    xml) tool=xmllint ;;
    render) tool=chromium ;;
    *) echo "usage: test_svg.sh xml|render PATH/TO/numaclaim" >&2; exit 2 ;;
esac
if ! command -v "$tool" >/dev/null 2>&1; then
    echo "SKIP: $tool not installed (scripts/deps.sh installs it)"
    exit 77
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
. "$(dirname "$0")/cli_lib.sh"

# Each host: nodes, then the storm's options.
hosts=(
    "2 --host 2x16G --vms 20 --mix 1G:2,2G:1 --fill 50 --balloon"
    "16 --host 16x8G --vms 60 --mix 1G:2,4G:1 --fill 60 --offline 20000@1"
    "64 --host 64x4G --vms 120 --mix 1G:4,2G:2,6G:1 --fill 30 --offline 20000@1 --offline 10000@2"
)
# Every picture of four policies is this size.
width=1000
height=1008

xpath() {       # file, expression: its value
    xmllint --xpath "$2" "$1" 2>/dev/null
}

equal() {       # description, got, want
    check "$1: got '$2', want '$3'" test "$2" = "$3"
}

check_xml() {   # file, nodes, offline events
    local f=$1 nodes=$2 events=$3 rows
    check "$f is well-formed" xmllint --noout "$f"
    equal "$f: svg root in the SVG namespace" "$(xpath "$f" \
        "count(/*[local-name()='svg' and namespace-uri()='http://www.w3.org/2000/svg'])")" 1
    equal "$f: width" "$(xpath "$f" 'string(/*/@width)')" "$width"
    equal "$f: height" "$(xpath "$f" 'string(/*/@height)')" "$height"
    equal "$f: policy rows" "$(xpath "$f" "count(//*[@class='policy'])")" 4
    equal "$f: layers" "$(xpath "$f" "count(//*[@class='layer'])")" 24
    equal "$f: free-memory panels" "$(xpath "$f" "count(//*[@class='free-all'])")" 4
    equal "$f: free in 2 MiB blocks, drawn" \
        "$(xpath "$f" "count(//*[@class='free-2m'][starts-with(@d, 'M')])")" 4
    # Labels on every node up to 8, then on every 2nd, 4th, ...: 8 a row.
    equal "$f: node labels" "$(xpath "$f" "count(//*[@class='node'])")" \
        $((4 * (nodes < 8 ? nodes : 8)))
    equal "$f: offline marks (area and heat map)" \
        "$(xpath "$f" "count(//*[@class='offline'])")" $((8 * events))
    rows=$(xpath "$f" "//*[@class='heat']/@y" | tr ' ' '\n' | grep -c . )
    check "$f: heat cells" test "$rows" -ge $((4 * nodes))
    rows=$(xpath "$f" "//*[@class='heat']/@y" | tr ' ' '\n' | grep . | sort -u | wc -l)
    equal "$f: heat-map rows" "$rows" $((4 * nodes))
    equal "$f: legend" "$(xpath "$f" \
        "count(//*[local-name()='text'][.='host-wide claims' or .='storm VMs' or .='offline event' or .='VM failed mid-build' or .='offlined frames'])")" 5
}

browser() {     # profile name, chromium arguments...
    local profile=$tmp/profile-$1; shift
    timeout 120 chromium --headless --disable-gpu --no-sandbox \
        --hide-scrollbars --no-first-run --user-data-dir="$profile" "$@"
}

png_size() {    # file: "WIDTHxHEIGHT" from its IHDR
    local w h
    w=$(od -An -tu1 -j16 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
    h=$(od -An -tu1 -j20 -N4 "$1" | awk '{print $1*16777216 + $2*65536 + $3*256 + $4}')
    echo "${w}x${h}"
}

check_sweep_xml() {     # file, values, seeds
    local f=$1 values=$2 seeds=$3 bars=0
    check "$f is well-formed" xmllint --noout "$f"
    equal "$f: svg root in the SVG namespace" "$(xpath "$f" \
        "count(/*[local-name()='svg' and namespace-uri()='http://www.w3.org/2000/svg'])")" 1
    equal "$f: width" "$(xpath "$f" 'string(/*/@width)')" 1000
    equal "$f: height" "$(xpath "$f" 'string(/*/@height)')" "$sweep_height"
    equal "$f: panels" "$(xpath "$f" "count(//*[@class='sweep-panel'])")" 10
    # Five figures: four policies' means, three policies' differences.
    equal "$f: lines" "$(xpath "$f" "count(//*[@class='series'])")" 35
    equal "$f: points" "$(xpath "$f" "count(//*[@class='point'])")" $((35 * values))
    [ "$seeds" -gt 1 ] && bars=$((35 * values))
    equal "$f: error bars" "$(xpath "$f" "count(//*[@class='ci'])")" "$bars"
    equal "$f: value labels" "$(xpath "$f" "count(//*[@class='value'])")" $((10 * values))
    equal "$f: legend" "$(xpath "$f" \
        "count(//*[@class='legend'][.='none' or .='host' or .='xapi' or .='claimsets'])")" 4
}

check_render() {    # file, name[, width, height]
    local f=$1 n=$2 blank width=${3:-$width} height=${4:-$height}
    # The SVG as a document: no parse error.
    browser "$n" --dump-dom "file://$f" >"$tmp/$n.dom" 2>"$tmp/$n.dom.err"
    equal "$f: chromium --dump-dom status" $? 0
    check "$f: parsed as SVG" grep -q '^<svg xmlns="http://www.w3.org/2000/svg"' "$tmp/$n.dom"
    check "$f: no parser error" bash -c "! grep -q parsererror '$tmp/$n.dom'"
    # As an image in a page: loads at its size, nothing on the console.
    cat >"$tmp/$n.html" <<EOF
<!DOCTYPE html><html><head><title>pending</title></head><body>
<img src="$n.svg" onload="document.title = 'loaded ' + this.naturalWidth + 'x' + this.naturalHeight"
     onerror="document.title = 'error'; console.error('the SVG did not load')">
</body></html>
EOF
    browser "$n" --enable-logging=stderr --v=0 --dump-dom "file://$tmp/$n.html" \
        >"$tmp/$n.page" 2>"$tmp/$n.page.err"
    check "$f: loads as an image of ${width}x$height" grep -q "<title>loaded ${width}x$height</title>" "$tmp/$n.page"
    check "$f: nothing on the console" bash -c "! grep -i 'console' '$tmp/$n.page.err'"
    # A screenshot at its size, far from a blank one's.
    browser "$n" --screenshot="$tmp/$n.png" --window-size="$width,$height" \
        "file://$f" >"$tmp/$n.shot" 2>&1
    equal "$f: chromium --screenshot status" $? 0
    check "$f: the screenshot is a PNG" bash -c \
        "head -c 8 '$tmp/$n.png' | od -An -tx1 | grep -q '89 50 4e 47 0d 0a 1a 0a'"
    equal "$f: screenshot size" "$(png_size "$tmp/$n.png")" "${width}x$height"
    blank=$(stat -c %s "$tmp/blank.png")
    check "$f: screenshot $(stat -c %s "$tmp/$n.png") bytes, blank $blank: not blank" \
        test "$(stat -c %s "$tmp/$n.png")" -gt $((8 * blank))
}

if [ "$mode" = render ]; then
    printf "<svg xmlns='http://www.w3.org/2000/svg' width='%s' height='%s'><rect width='100%%' height='100%%' fill='white'/></svg>\n" \
        "$width" "$height" >"$tmp/blank.svg"
    browser blank --screenshot="$tmp/blank.png" --window-size="$width,$height" \
        "file://$tmp/blank.svg" >/dev/null 2>&1
    check "a blank page renders" test -s "$tmp/blank.png"
fi
# The sweep's picture: its values' labels are cut to fit (host specs).
sweep_height=986
for seeds in 1 3; do
    f=$tmp/sweep$seeds.svg
    expect 0 "sweep of host over 3 values" sweep --vary 'host=2x8G|4x8G|2x16G;dist=10,21,21,10' \
        --vms 12 --mix 2G:2,4G:1 --seeds "$seeds" --no-progress --svg "$f"
    if [ "$mode" = xml ]; then
        check_sweep_xml "$f" 3 "$seeds"
    else
        check_render "$f" "sweep$seeds" 1000 "$sweep_height"
    fi
done
for h in "${hosts[@]}"; do
    read -r nodes args <<<"$h"
    f=$tmp/host$nodes.svg
    # shellcheck disable=SC2086
    expect 0 "claimsets" storm $args --svg "$f"
    events=$(grep -o -- '--offline' <<<"$args" | wc -l)
    if [ "$mode" = xml ]; then
        check_xml "$f" "$nodes" "$events"
    else
        check_render "$f" "host$nodes"
    fi
done

echo "svg $mode: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
