#ifndef CLOCK_H
#define CLOCK_H

/* Milliseconds on the monotonic clock, for deadlines and back-offs. */
long long clock_ms(void);

#endif
