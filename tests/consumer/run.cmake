# Installs the nector build into a fresh prefix, then builds and runs the consumer
# project against it twice: through find_package(nector) and through pkg-config.
foreach(var NECTOR_BUILD_DIR CONSUMER_SOURCE_DIR WORK_DIR CXX)
    if(NOT DEFINED ${var})
        message(FATAL_ERROR "run.cmake needs -D${var}=...")
    endif()
endforeach()

function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc)
    if(NOT rc EQUAL 0)
        string(JOIN " " cmd ${ARGN})
        message(FATAL_ERROR "failed (${rc}): ${cmd}")
    endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
run(${CMAKE_COMMAND} --install ${NECTOR_BUILD_DIR} --prefix ${prefix})

run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${WORK_DIR}/build -G Ninja
    -DCMAKE_CXX_COMPILER=${CXX} -DCMAKE_PREFIX_PATH=${prefix})
run(${CMAKE_COMMAND} --build ${WORK_DIR}/build)
run(${WORK_DIR}/build/consumer)
run(${WORK_DIR}/build/consumer_testing)

# pkg-config: compile and link the same program with nothing but the .pc file.
find_program(PKG_CONFIG pkg-config REQUIRED)
file(GLOB pc_dirs ${prefix}/lib*/pkgconfig ${prefix}/lib/*/pkgconfig)
string(JOIN ":" pc_path ${pc_dirs})
set(ENV{PKG_CONFIG_PATH} ${pc_path})
execute_process(COMMAND ${PKG_CONFIG} --cflags --libs nector
    OUTPUT_VARIABLE flags OUTPUT_STRIP_TRAILING_WHITESPACE RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "pkg-config does not know nector (PKG_CONFIG_PATH=${pc_path})")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
run(${CXX} -std=c++20 ${CONSUMER_SOURCE_DIR}/main.cpp ${flags} -o ${WORK_DIR}/consumer-pc)
run(${WORK_DIR}/consumer-pc)

# The README's quick start, verbatim: it compiles and links against the installed package
# with no warning, optimised as users build (GCC 12 warns from inlined code at -O2 only).
if(DEFINED README)
    file(READ ${README} text)
    string(FIND "${text}" "## Quick start" at)
    string(SUBSTRING "${text}" ${at} -1 text)
    string(FIND "${text}" "```cpp\n" open)
    math(EXPR open "${open} + 7")
    string(SUBSTRING "${text}" ${open} -1 text)
    string(FIND "${text}" "```" close)
    string(SUBSTRING "${text}" 0 ${close} code)
    file(WRITE ${WORK_DIR}/quick_start.cpp "${code}")
    run(${CXX} -std=c++20 -O2 -Wall -Wextra -Werror ${WORK_DIR}/quick_start.cpp ${flags}
        -o ${WORK_DIR}/quick_start)
endif()
