# The course's UDP pinger client, as students wrote it: 10 pings of
# "Ping <seq> <HH:MM:SS>", a 1 s timeout, "Reply for ... :: RTT" or
# "Request timed out". Host and port come from argv so a test can run it.
import sys
import time
from socket import *

host, port = sys.argv[1], int(sys.argv[2])
clientSocket = socket(AF_INET, SOCK_DGRAM)
clientSocket.settimeout(1)
received = 0
for i in range(1, 11):
    message = 'Ping %d %s' % (i, time.strftime('%H:%M:%S'))
    start = time.time()
    clientSocket.sendto(message.encode(), (host, port))
    try:
        modifiedMessage, serverAddress = clientSocket.recvfrom(1024)
        rtt = time.time() - start
        received += 1
        print('Reply for %s :: RTT %.3fs' % (modifiedMessage.decode(), rtt))
    except timeout:
        print('Request timed out')
clientSocket.close()
print('sent 10, received %d, lost %d' % (received, 10 - received))
