import SVQEngine
print(Engine.threadCount)
