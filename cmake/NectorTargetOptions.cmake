# Warnings and sanitizers, applied per target (never as global flags).
function(nector_target_options target)
    if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(${target} PRIVATE
            -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wsign-conversion
            -Wnon-virtual-dtor -Wold-style-cast -Wcast-align -Woverloaded-virtual
            -Wnull-dereference -Wimplicit-fallthrough)
    endif()
    if(NECTOR_SANITIZE)
        target_compile_options(${target} PRIVATE -fsanitize=${NECTOR_SANITIZE} -fno-omit-frame-pointer
                                                 -fno-sanitize-recover=all)
        target_link_options(${target} PRIVATE -fsanitize=${NECTOR_SANITIZE})
    endif()
endfunction()
