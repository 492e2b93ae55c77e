# embed_assets.cmake: writes web_assets.c, every file of daemon/web/assets/
# as a byte array with its path and type, so that cairnd serves the page
# with nothing on disk and nothing from the network.
#   cmake -DDIR=daemon/web/assets -DOUT=web_assets.c -P embed_assets.cmake
file(GLOB names RELATIVE "${DIR}" "${DIR}/*")
list(SORT names)
set(arrays "")
set(rows "")
set(i 0)
foreach(name IN LISTS names)
  if(name MATCHES "\\.html$")
    set(type "text/html; charset=utf-8")
  elseif(name MATCHES "\\.css$")
    set(type "text/css; charset=utf-8")
  elseif(name MATCHES "\\.js$")
    set(type "text/javascript; charset=utf-8")
  elseif(name MATCHES "\\.svg$")
    set(type "image/svg+xml")
  else()
    message(FATAL_ERROR "embed_assets: no content type for ${name}")
  endif()
  file(READ "${DIR}/${name}" hex HEX)
  if(hex STREQUAL "")
    message(FATAL_ERROR "embed_assets: ${name} is empty")
  endif()
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," hex "${hex}")
  string(REGEX REPLACE "((0x[0-9a-f][0-9a-f],){24})" "\\1\n" hex "${hex}")
  string(APPEND arrays "static const uint8_t asset_${i}[] = {\n${hex}};\n")
  string(APPEND rows "    {\"/${name}\", \"${type}\", asset_${i}, sizeof asset_${i}},\n")
  math(EXPR i "${i} + 1")
endforeach()
file(WRITE "${OUT}.tmp"
"/* web_assets.c: generated at build time from daemon/web/assets/ by
 * daemon/web/embed_assets.cmake. Do not edit. */
#include \"web_int.h\"

#include <string.h>

${arrays}
static const cairn__web_asset assets[] = {
${rows}};

const cairn__web_asset *cairn__web_asset_find(const char *path) {
  for (size_t i = 0; i < sizeof assets / sizeof assets[0]; i++)
    if (strcmp(assets[i].path, path) == 0)
      return &assets[i];
  return NULL;
}
")
execute_process(COMMAND ${CMAKE_COMMAND} -E copy_if_different "${OUT}.tmp" "${OUT}")
file(REMOVE "${OUT}.tmp")
