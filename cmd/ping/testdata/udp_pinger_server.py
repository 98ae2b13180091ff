# UDPPingerServer.py, the Kurose & Ross programming assignment's server,
# changed only so that a test can run it: it binds 127.0.0.1 on the port
# given (0 picks one and prints it), seeds its random drops from argv[2],
# and writes each dropped message to stderr, so the test knows exactly
# which requests it lost.
import random
import sys
from socket import *

random.seed(int(sys.argv[2]))
serverSocket = socket(AF_INET, SOCK_DGRAM)
serverSocket.bind(('127.0.0.1', int(sys.argv[1])))
print(serverSocket.getsockname()[1], flush=True)

while True:
    # Generate random number in the range of 0 to 10
    rand = random.randint(0, 10)
    # Receive the client packet along with the address it is coming from
    message, address = serverSocket.recvfrom(1024)
    # Capitalize the message from the client
    message = message.upper()
    # If rand is less is than 4, we consider the packet lost and do not respond
    if rand < 4:
        print('dropped', message.decode(errors='replace'), file=sys.stderr, flush=True)
        continue
    # Otherwise, the server responds
    serverSocket.sendto(message, address)
