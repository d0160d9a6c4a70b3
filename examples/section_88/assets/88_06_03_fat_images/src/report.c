/* The "application": a small compiled program, so that the image needs a compiler to be built. */
#include <stdio.h>

int main(void) {
    int rows = 5;
    printf("{\"report\": \"daily\", \"rows\": %d}\n", rows);
    return 0;
}
