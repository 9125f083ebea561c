/* SPDX-License-Identifier: MIT */
/* What a stream socket (socketpair, loopback TCP) says about unread bytes
 * without consuming them: MSG_PEEK (short and long, MSG_DONTWAIT on an
 * empty socket, MSG_WAITALL waiting for the whole length, a blocking peek
 * waiting for the first byte), FIONREAD/SIOCINQ on the reader and
 * SIOCOUTQ on the writer once everything is read, and a consuming
 * MSG_WAITALL across two writes. */
#include <linux/sockios.h>
#include <pthread.h>
#include <sys/ioctl.h>

#include "sock-pairs.h"

struct later {
	int fd;
	const char *first, *second;
};

/* Write @first at once and @second 50 ms later. */
static void *writer(void *arg)
{
	struct later *l = arg;

	if (*l->first)
		write(l->fd, l->first, strlen(l->first));
	usleep(50000);
	write(l->fd, l->second, strlen(l->second));
	return NULL;
}

static void show(const char *what, ssize_t n, const char *buf)
{
	if (n < 0)
		printf("  %s: -1 %s\n", what, strerror(errno));
	else
		printf("  %s: %zd \"%.*s\"\n", what, n, (int)n, buf);
}

static int count(int fd, unsigned long req)
{
	int n = -1;

	return ioctl(fd, req, &n) ? -errno : n;
}

static void run(const char *kind)
{
	char buf[64];
	int sv[2], a, b;
	pthread_t t;
	struct later l;

	printf("%s:\n", kind);
	t_pair(kind, sv);
	a = sv[0];
	b = sv[1];
	write(a, "abcdef", 6);
	printf("  FIONREAD b: %d\n", count(b, FIONREAD));
	printf("  SIOCINQ b: %d\n", count(b, SIOCINQ));
	show("peek 3", recv(b, buf, 3, MSG_PEEK), buf);
	show("peek 10", recv(b, buf, 10, MSG_PEEK), buf);
	printf("  FIONREAD b after peeking: %d\n", count(b, FIONREAD));
	show("read 4", read(b, buf, 4), buf);
	printf("  FIONREAD b: %d\n", count(b, FIONREAD));
	show("peek MSG_DONTWAIT", recv(b, buf, 10, MSG_PEEK | MSG_DONTWAIT), buf);
	show("read 10", read(b, buf, 10), buf);
	show("peek MSG_DONTWAIT empty", recv(b, buf, 10, MSG_PEEK | MSG_DONTWAIT), buf);
	printf("  FIONREAD b empty: %d\n", count(b, FIONREAD));
	printf("  SIOCOUTQ a, all read: %d\n", count(a, SIOCOUTQ));
	printf("  FIONREAD on a bad pointer: %s\n", ioctl(b, FIONREAD, (int *)8) ? strerror(errno) : "no error");

	l = (struct later){ a, "12", "345" };
	pthread_create(&t, NULL, writer, &l);
	usleep(10000);
	show("peek MSG_WAITALL 5", recv(b, buf, 5, MSG_PEEK | MSG_WAITALL), buf);
	pthread_join(t, NULL);
	show("read 10", read(b, buf, 10), buf);

	l = (struct later){ a, "", "xyz" };
	pthread_create(&t, NULL, writer, &l);
	show("blocking peek", recv(b, buf, 10, MSG_PEEK), buf);
	pthread_join(t, NULL);
	show("read 10", read(b, buf, 10), buf);

	l = (struct later){ a, "ab", "cd" };
	pthread_create(&t, NULL, writer, &l);
	usleep(10000);
	show("recv MSG_WAITALL 4", recv(b, buf, 4, MSG_WAITALL), buf);
	pthread_join(t, NULL);
	close(a);
	show("peek at eof", recv(b, buf, 10, MSG_PEEK), buf);
	close(b);
}

int main(void)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	run("unix");
	run("tcp");
	return 0;
}
